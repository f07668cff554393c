"""Reads of annotations and suggestions. Annotators only ever reach their own (blind annotation):
the API resolves the assignment with annotate.selectors.queue.assignment_visible first."""

from __future__ import annotations

import json

from django.db.models import Prefetch, QuerySet

from annotate.hotsql import fetch
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
    `spans`: already fetched spans (Span instances, or dicts already in `span_dict` shape);
    otherwise one query."""
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
        "spans": [s if isinstance(s, dict) else span_dict(s) for s in spans],
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


_SPAN_ORDER = 's."start", s."end", s."label", s."id"'


def spans_and_suggestions(*, article_id: int, annotation_id: int | None) -> tuple[list[dict], list[dict]]:
    """An annotation's spans and the article's suggestions, as the API shows them (`span_dict`,
    `suggestion_dict`; sorted as `annotation_document` sorts spans), in one statement
    (annotate.hotsql). Plain rows, no model instances: an article has dozens of suggestions."""
    rows = fetch(
        f'SELECT s."id", s."start", s."end", s."label", s."attrs", s."origin", s."suggestion_id", s."model_name", '
        f's."model_version", s."annotation_id" FROM {Span._meta.db_table} s WHERE s."article_id" = %s AND '
        f'((s."annotation_id" IS NULL AND s."gold_id" IS NULL) OR s."annotation_id" = %s) ORDER BY {_SPAN_ORDER}',
        [article_id, annotation_id])
    spans: list[dict] = []
    suggestions: list[dict] = []
    for pk, start, end, label, attrs, origin, suggestion_id, model_name, model_version, owner in rows:
        attrs = json.loads(attrs) if isinstance(attrs, str) else attrs
        if owner is None:
            suggestions.append({"id": pk, "start": start, "end": end, "label": label, "attrs": attrs,
                                "origin": origin, "model_name": model_name, "model_version": model_version})
        else:
            spans.append({"id": pk, "start": start, "end": end, "label": label, "attrs": attrs, "origin": origin,
                          "suggestion": suggestion_id})
    return spans, suggestions
