"""Reads of annotations and suggestions. Annotators only ever reach their own (blind annotation):
the API resolves the assignment with annotate.selectors.queue.assignment_visible first."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from annotate.hotsql import Columns, fetch
from annotate.models import Annotation, Span

SPAN_FIELDS = ("id", "start", "end", "label", "attrs", "origin", "suggestion_id")


def suggestions_for(*, article_id: int) -> QuerySet[Span]:
    """Model and import suggestions of an article: spans that belong to no annotation and no gold."""
    return Span.objects.filter(article_id=article_id, annotation__isnull=True, gold__isnull=True)


def span_dict(span: Span) -> dict:
    return {"id": span.pk, "start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
            "origin": span.origin, "suggestion": span.suggestion_id}


def suggestion_dict(span: Span) -> dict:
    return {"id": span.pk, "start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
            "origin": span.origin, "model_name": span.model_name, "model_version": span.model_version}


def annotation_document(annotation: Annotation, spans=None) -> dict:
    """The annotation as the API's JSON document (also the `current` state of a 409).
    `spans`: already fetched spans (prefetch); otherwise one query."""
    if spans is None:
        spans = annotation.spans.order_by("start", "end", "label", "id")
    return {
        "id": annotation.pk,
        "assignment": annotation.assignment_id,
        "version": annotation.version,
        "stance": annotation.stance,
        "frames": annotation.frames,
        "primary_frame": annotation.primary_frame,
        "notes": annotation.notes,
        "spans": [span_dict(s) for s in spans],
        "rejected_suggestions": annotation.rejected_suggestions,
        "created_at": annotation.created_at,
        "updated_at": annotation.updated_at,
        "submitted_at": annotation.submitted_at,
    }


def annotations_for_project(*, project_id: int) -> QuerySet[Annotation]:
    """All annotations of a project with what their list rendering needs, in 2 queries."""
    return (
        Annotation.objects.filter(assignment__project_id=project_id)
        .select_related("assignment", "assignment__annotator")
        .prefetch_related(Prefetch("spans", queryset=Span.objects.order_by("start", "end", "label", "id")))
    )


_S = Columns(Span, "s")
_SPAN_ORDER = 's."start", s."end", s."label", s."id"'


def spans_and_suggestions(*, article_id: int, annotation_id: int | None) -> tuple[list[Span], list[Span]]:
    """An annotation's spans (sorted as `annotation_document` sorts them) and the article's
    suggestions, in one statement (annotate.hotsql): what the annotation screen shows together."""
    rows = fetch(
        f'SELECT {_S.sql} FROM {Span._meta.db_table} s WHERE s."article_id" = %s AND '
        f'((s."annotation_id" IS NULL AND s."gold_id" IS NULL) OR s."annotation_id" = %s) ORDER BY {_SPAN_ORDER}',
        [article_id, annotation_id])
    spans: list[Span] = []
    suggestions: list[Span] = []
    for row in rows:
        span = _S.load(row)
        (suggestions if span.annotation_id is None else spans).append(span)
    return spans, suggestions


def spans_of_annotation(annotation_id: int) -> list[Span]:
    """An annotation's spans, sorted (one statement, annotate.hotsql)."""
    return [_S.load(row) for row in fetch(
        f'SELECT {_S.sql} FROM {Span._meta.db_table} s WHERE s."annotation_id" = %s ORDER BY {_SPAN_ORDER}',
        [annotation_id])]
