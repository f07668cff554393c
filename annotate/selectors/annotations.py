"""Reads of annotations and suggestions. Annotators only ever reach their own (blind annotation):
the API resolves the assignment with annotate.selectors.queue.assignment_visible first."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

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
