"""Reads of annotations and suggestions. Annotators only ever reach their own (blind annotation):
the API resolves the assignment with annotate.selectors.queue.assignment_visible first."""

from __future__ import annotations

import json

from django.db import connection
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
_ROW = ('s."id", s."start", s."end", s."label", {attrs}, s."origin", s."suggestion_id", s."model_name", '
        's."model_version", s."annotation_id"')
_ROW_PLAIN = _ROW.format(attrs='s."attrs"')
_ROW_SQLITE_JSON = _ROW.format(attrs='JSON(s."attrs")')  # SQLite keeps JSON as text: embed it as JSON
# What the annotation screen shows beside an article: its suggestions and this annotation's spans.
SCREEN_SPANS = '((s."annotation_id" IS NULL AND s."gold_id" IS NULL) OR s."annotation_id" = {annotation})'


def span_rows_sql(where: str) -> str:
    """A scalar subquery: the spans (alias `s`) matching `where`, as one JSON array of rows in
    document order, for `split_span_rows`. Lets a statement that is run anyway (the queue's
    candidate, the lock) bring them along instead of a round trip of their own."""
    table = Span._meta.db_table
    if connection.vendor == "postgresql":
        return f"(SELECT JSONB_AGG(JSONB_BUILD_ARRAY({_ROW_PLAIN}) ORDER BY {_SPAN_ORDER}) FROM {table} s WHERE {where})"
    # SQLite's order is restored in split_span_rows.
    return f"(SELECT JSON_GROUP_ARRAY(JSON_ARRAY({_ROW_SQLITE_JSON})) FROM {table} s WHERE {where})"


def split_span_rows(value) -> tuple[list[dict], list[dict]]:
    """`span_rows_sql`'s array as (the annotation's spans, the suggestions), as the API shows them."""
    rows = (json.loads(value) if isinstance(value, str) else value) or []
    if connection.vendor != "postgresql":
        rows.sort(key=lambda r: (r[1], r[2], r[3], r[0]))  # SQLite's BINARY collation is code point order
    return _split(rows)


def _split(rows) -> tuple[list[dict], list[dict]]:
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


def spans_and_suggestions(*, article_id: int, annotation_id: int | None) -> tuple[list[dict], list[dict]]:
    """An annotation's spans and the article's suggestions, as the API shows them (`span_dict`,
    `suggestion_dict`; sorted as `annotation_document` sorts spans), in one statement
    (annotate.hotsql). Plain rows, no model instances: an article has dozens of suggestions."""
    rows = fetch(
        f'SELECT {_ROW_PLAIN} FROM {Span._meta.db_table} s '
        f'WHERE s."article_id" = %s AND {SCREEN_SPANS.format(annotation="%s")} ORDER BY {_SPAN_ORDER}',
        [article_id, annotation_id])
    return _split(rows)
