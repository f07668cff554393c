"""Granular span edits inside an annotation, and accepting / rejecting suggestions.

Suggestions are Span rows with annotation=NULL and gold=NULL (origin model or import), offered
to every annotator of the article. Accepting one copies it into the annotation (origin human,
`suggestion` pointing back), so the suggestion itself is never modified. Every function here is
a versioned annotation write (see annotate.services.annotations) and returns the annotation.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from annotate.errors import Conflict, NotFound, ValidationFailed
from annotate.models import Annotation, Assignment, Span
from annotate.selectors.annotations import suggestions_for
from annotate.services.annotations import (
    Errors,
    _begin_write,
    _finish_write,
    _text_len,
    validate_spans,
    versioned_write,
)


def _one_span(locked: Assignment, annotation: Annotation, span: dict, *, exclude: int | None = None) -> dict:
    errors = Errors()
    suggestion_ids = set()
    if span.get("suggestion") is not None:
        suggestion_ids = set(suggestions_for(article_id=locked.article_id)
                             .filter(pk=span["suggestion"]).values_list("pk", flat=True))
    [clean] = validate_spans([span], errors=errors, text_len=_text_len(locked),
                             span_labels=locked.project.span_labels, suggestion_ids=suggestion_ids,
                             own_ids=None, path="span", indexed=False) or [None]
    errors.raise_if_any()
    twin = (Span.objects.filter(annotation=annotation, start=clean["start"], end=clean["end"], label=clean["label"])
            .exclude(pk=exclude).values_list("pk", flat=True).first())
    if twin is not None:
        raise Conflict(f"span: the annotation already has {clean['label']} {clean['start']}-{clean['end']} "
                       f"(span {twin})", details={"span": [f"duplicate of span {twin}"]})
    return clean


def _own_span(annotation: Annotation, span_id: int) -> Span:
    span = Span.objects.filter(pk=span_id, annotation=annotation).first()
    if span is None:
        raise NotFound(f"Span {span_id} is not part of this annotation.")
    return span


def span_create(*, assignment: Assignment, by, version, start, end, label, attrs=None,
                suggestion: int | None = None) -> Annotation:
    """Add one span; the same (start, end, label) twice is refused with Conflict (409)."""
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version)
        clean = _one_span(locked, annotation, {"start": start, "end": end, "label": label,
                                               "attrs": attrs or {}, "suggestion": suggestion})
        Span.objects.create(article_id=locked.article_id, annotation=annotation, origin=Span.Origin.HUMAN,
                            start=clean["start"], end=clean["end"], label=clean["label"], attrs=clean["attrs"],
                            suggestion_id=clean["suggestion"])
        return _finish_write(locked, annotation, [])


def span_update(*, assignment: Assignment, by, version, span_id: int, changes: dict) -> Annotation:
    """Change offsets, label or attrs of one span of the annotation."""
    unknown = sorted(set(changes) - {"start", "end", "label", "attrs"})
    if unknown:
        raise ValidationFailed(f"span.{unknown[0]}: cannot be changed", details={f"span.{k}": ["cannot be changed"]
                                                                                  for k in unknown})
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version)
        span = _own_span(annotation, span_id)
        merged = {"start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
                  "suggestion": span.suggestion_id, **changes}
        clean = _one_span(locked, annotation, merged, exclude=span.pk)
        span.start, span.end, span.label, span.attrs = clean["start"], clean["end"], clean["label"], clean["attrs"]
        span.save(update_fields=["start", "end", "label", "attrs"])
        return _finish_write(locked, annotation, [])


def span_delete(*, assignment: Assignment, by, version, span_id: int) -> Annotation:
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version)
        _own_span(annotation, span_id).delete()
        return _finish_write(locked, annotation, [])


def suggestion_accept(*, assignment: Assignment, by, version, suggestion_id: int,
                      label: str | None = None) -> Annotation:
    """Copy a suggestion into the annotation (optionally relabelled). Accepting it again, or
    when the annotation already has that span, is refused with Conflict."""
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version)
        suggestion = suggestions_for(article_id=locked.article_id).filter(pk=suggestion_id).first()
        if suggestion is None:
            raise NotFound(f"Suggestion {suggestion_id} does not exist for this article.")
        clean = _one_span(locked, annotation, {"start": suggestion.start, "end": suggestion.end,
                                               "label": label or suggestion.label, "attrs": suggestion.attrs,
                                               "suggestion": suggestion.pk})
        try:
            with transaction.atomic():
                Span.objects.create(article_id=locked.article_id, annotation=annotation, origin=Span.Origin.HUMAN,
                                    start=clean["start"], end=clean["end"], label=clean["label"],
                                    attrs=clean["attrs"], suggestion=suggestion)
        except IntegrityError:  # pragma: no cover - _one_span checked under the assignment lock
            raise Conflict("span: duplicate") from None
        if suggestion.pk in annotation.rejected_suggestions:
            annotation.rejected_suggestions = [s for s in annotation.rejected_suggestions if s != suggestion.pk]
        return _finish_write(locked, annotation, ["rejected_suggestions"])


def suggestion_reject(*, assignment: Assignment, by, version, suggestion_id: int) -> Annotation:
    """Record that this annotator rejected a suggestion (it stays for other annotators)."""
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version)
        if not suggestions_for(article_id=locked.article_id).filter(pk=suggestion_id).exists():
            raise NotFound(f"Suggestion {suggestion_id} does not exist for this article.")
        if suggestion_id not in annotation.rejected_suggestions:
            annotation.rejected_suggestions = sorted([*annotation.rejected_suggestions, suggestion_id])
        return _finish_write(locked, annotation, ["rejected_suggestions"])
