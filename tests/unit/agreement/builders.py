"""Builders for submitted annotations, shared by the agreement, gold and adjudication tests."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from annotate.models import Annotation, Assignment, Span
from tests.factories import AnnotationFactory, AssignmentFactory, SpanFactory


def submit(article, user, stance: dict | None = None, frames: Iterable[str] = (), primary: str = "",
           spans: Iterable[tuple] = (), status: str = Assignment.Status.SUBMITTED) -> Annotation:
    """One annotator's submitted work on an article; spans are (start, end, label[, attrs])."""
    now = timezone.now()
    assignment = AssignmentFactory(
        article=article, annotator=user, status=status,
        submitted_at=now if status == Assignment.Status.SUBMITTED else None, time_spent_seconds=60)
    annotation = AnnotationFactory(
        assignment=assignment, stance=stance or {}, frames=list(frames), primary_frame=primary,
        submitted_at=now if status == Assignment.Status.SUBMITTED else None)
    for span in spans:
        start, end, label, *rest = span
        SpanFactory(article=article, annotation=annotation, start=start, end=end, label=label,
                    attrs=rest[0] if rest else {}, origin=Span.Origin.HUMAN)
    return annotation
