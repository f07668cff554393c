"""Annotation writes: autosave (replace or patch), submit. Optimistic locking on `version`.

Every write: locks the assignment and annotation rows (annotate.services.queue.assignment_lock,
which explains why both), refuses closed assignments, checks `version` against the row as locked
(stale → StaleWrite carrying the current document, nothing written), validates against the project
schema and the article text with field-path messages, then writes and bumps `version` by one with
an UPDATE that itself requires the checked version. So of N writers based on one version exactly
one wins, and the others get StaleWrite (issue 13).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, Length
from django.utils import timezone

from annotate import spanrules
from annotate.errors import AssignmentClosed, StaleWrite, ValidationFailed
from annotate.hotsql import save_fields
from annotate.models import Annotation, Article, Assignment, Span
from annotate.selectors.annotations import annotation_document, split_span_rows, suggestions_for
from annotate.selectors.queue import unreviewed_suggestions
from annotate.services.queue import OPEN, TOUCHED_FIELDS, assignment_lock_for, assignment_touch
from annotate.services.training import model_after_submit

DOC_FIELDS = ("stance", "frames", "primary_frame", "notes", "spans", "rejected_suggestions")
MAX_NOTES_CHARS = 100_000
MAX_ID = 2**62  # ids beyond this cannot exist; refusing them early keeps database errors out


# One error collector for every span and document rule (annotate.spanrules), re-exported here for
# the callers that import it from this module.
Errors = spanrules.Errors


class Incomplete(ValidationFailed):
    code = "incomplete"


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _StaleLabels:
    """An error sink that names a stored span whose label a codebook change removed, instead of
    the generic "not a span label" (which would leave the annotator in an autosave loop)."""

    def __init__(self, errors, spans: list, stale: set, *, path: str, indexed: bool):
        self.errors, self.stale = errors, stale
        self.spans = {(f"{path}[{i}]" if indexed else path): span for i, span in enumerate(spans)}

    def add(self, where: str, message: str) -> None:
        span = self.spans.get(where.removesuffix(".label")) if where.endswith(".label") else None
        if isinstance(span, dict) and (span.get("id") in self.stale
                                       or (span.get("start"), span.get("end"), span.get("label")) in self.stale):
            self.errors.add(where.removesuffix(".label"), f'label "{span.get("label")}" is no longer in this '
                                                          "project's span labels: relabel or remove this span")
            return
        self.errors.add(where, message)


def validate_spans(spans: Any, *, errors: Errors, text_len: int, span_labels: Iterable[str],
                   suggestion_ids: set[int], own_ids: set[int] | None, path: str = "spans",
                   indexed: bool = True, stored: Iterable[Span] = ()) -> list[dict]:
    """Validate span dicts with the shared rules (annotate.spanrules) plus the annotation's own
    keys; returns normalised dicts. `own_ids`: ids allowed in `id` (spans of this annotation);
    None = `id` not accepted. Errors are named `spans[2].end` (or `span.end`, `indexed=False`).
    `stored`: the annotation's stored spans; one of them whose label left the schema (a codebook
    change) is named as such, so the annotator can relabel or remove it."""
    labels = set(span_labels)
    stale = {r.pk for r in stored if r.label not in labels} | {(r.start, r.end, r.label) for r in stored
                                                              if r.label not in labels}
    if stale and isinstance(spans, list):
        errors = _StaleLabels(errors, spans, stale, path=path, indexed=indexed)

    def own_keys(where: str, span: dict, clean: dict) -> bool:
        ok = True
        suggestion = span.get("suggestion")
        if suggestion is not None and (not _int(suggestion) or suggestion not in suggestion_ids):
            errors.add(f"{where}.suggestion", f"{suggestion!r} is not a suggestion for this article")
            ok = False
        span_id = span.get("id")
        if span_id is not None and (own_ids is None or not _int(span_id) or span_id not in own_ids):
            errors.add(f"{where}.id", f"{span_id!r} is not a span of this annotation")
            ok = False
        clean["id"], clean["suggestion"] = span_id, suggestion
        return ok

    return [clean for _, clean in spanrules.check_spans(
        spans, errors=errors, text_len=text_len, span_labels=span_labels, path=path, indexed=indexed,
        extra=own_keys)]


def _validate_doc(fields: dict, *, assignment: Assignment, annotation: Annotation, text_len: int,
                  errors: Errors) -> dict:
    """Validate the given document fields; returns the normalised values to write."""
    project = assignment.project
    clean: dict[str, Any] = {}
    if "stance" in fields:
        clean["stance"] = spanrules.check_stance(
            fields["stance"], errors=errors, target_keys=assignment.target_keys,  # loaded by assignment_lock
            stance_labels=project.stance_labels)
    if "frames" in fields:
        clean["frames"] = spanrules.check_frames(fields["frames"], errors=errors, codebook=project.frames)
    if "primary_frame" in fields:
        # Autosave keeps half-done work: whether the primary frame is among the frames is submit's check.
        clean["primary_frame"] = spanrules.check_primary_frame(
            fields["primary_frame"], errors=errors, codebook=project.frames)
    if "notes" in fields:
        notes = fields["notes"] if fields["notes"] is not None else ""
        if not isinstance(notes, str):
            errors.add("notes", "must be a string")
        elif len(notes) > MAX_NOTES_CHARS:
            errors.add("notes", f"is {len(notes)} characters long; at most {MAX_NOTES_CHARS} are allowed")
        clean["notes"] = notes
    suggestion_ids = _existing_suggestions(fields, article_id=assignment.article_id)
    if "spans" in fields:
        own = {s.pk for s in annotation.stored_spans}  # loaded by annotation_update
        clean["spans"] = validate_spans(
            fields["spans"], errors=errors, text_len=text_len, span_labels=project.span_labels,
            suggestion_ids=suggestion_ids, own_ids=own, stored=annotation.stored_spans)
    if "rejected_suggestions" in fields:
        rejected = fields["rejected_suggestions"]
        if not isinstance(rejected, list):
            errors.add("rejected_suggestions", "must be a list of suggestion ids")
        else:
            for i, sid in enumerate(rejected):
                if not _int(sid) or sid not in suggestion_ids:
                    errors.add(f"rejected_suggestions[{i}]", f"{sid!r} is not a suggestion for this article")
            clean["rejected_suggestions"] = sorted({s for s in rejected if _int(s)})
    return clean


def _existing_suggestions(fields: dict, *, article_id: int) -> set[int]:
    """Which of the suggestion ids that `fields` mention are suggestions for this article: one
    query, and none when nothing refers to a suggestion (most autosaves)."""
    wanted = set()
    if isinstance(fields.get("spans"), list):
        wanted.update(s.get("suggestion") for s in fields["spans"] if isinstance(s, dict))
    if isinstance(fields.get("rejected_suggestions"), list):
        wanted.update(fields["rejected_suggestions"])
    wanted = {i for i in wanted if _int(i) and 0 < i <= MAX_ID}
    if not wanted:
        return set()
    return set(suggestions_for(article_id=article_id).filter(pk__in=wanted).values_list("pk", flat=True))


def _write_spans(annotation: Annotation, assignment: Assignment, spans: list[dict]) -> tuple[list[Span], list[Span]]:
    """Make the annotation's spans equal to `spans`: deletes and changes stored ones, returns
    (the kept ones, the new ones still to insert: the caller writes them with the annotation)."""
    existing = {s.pk: s for s in annotation.stored_spans}  # loaded by annotation_update
    keep = {s["id"] for s in spans if s["id"] is not None}
    # A span sent without id that equals a stored one (same offsets and label) is that span: a
    # client that resends its whole list without ids (scripts, PUT) keeps ids and rows.
    by_key = {(r.start, r.end, r.label): r for r in existing.values() if r.pk not in keep}
    for s in spans:
        if s["id"] is None:
            row = by_key.pop((s["start"], s["end"], s["label"]), None)
            if row is not None:
                s["id"] = row.pk
                keep.add(row.pk)
    gone = [pk for pk in existing if pk not in keep]
    if gone:
        # Raw delete: the SET_NULL pass Django would add for `Span.suggestion` never finds a row,
        # because only suggestions (no annotation, no gold) are ever a span's `suggestion`.
        Span.objects.filter(pk__in=gone)._raw_delete(Span.objects.db)
    changed, new = [], []
    for s in spans:
        if s["id"] is None:
            new.append(Span(article_id=assignment.article_id, annotation=annotation, start=s["start"],
                            end=s["end"], label=s["label"], attrs=s["attrs"], origin=Span.Origin.HUMAN,
                            suggestion_id=s["suggestion"]))
            continue
        row = existing[s["id"]]
        if (row.start, row.end, row.label, row.attrs, row.suggestion_id) != (
                s["start"], s["end"], s["label"], s["attrs"], s["suggestion"]):
            row.start, row.end, row.label, row.attrs, row.suggestion_id = (
                s["start"], s["end"], s["label"], s["attrs"], s["suggestion"])
            changed.append(row)
    if changed:
        # Two spans may swap offsets in one write: move them to a unique placeholder label first,
        # so the unique (annotation, start, end, label) key never sees a half-applied state.
        Span.objects.filter(pk__in=[r.pk for r in changed]).update(
            label=Concat(Value("~"), Cast("id", output_field=CharField())))
        Span.objects.bulk_update(changed, ["start", "end", "label", "attrs", "suggestion"])
    return [existing[pk] for pk in keep], new


def _text_len(assignment: Assignment) -> int:
    if getattr(assignment, "text_len", None) is not None:  # loaded by assignment_lock
        return assignment.text_len
    return (Article.objects.filter(pk=assignment.article_id).annotate(n=Length("text"))
            .values_list("n", flat=True).get())


def _check_version(annotation: Annotation, version) -> None:
    if not _int(version):
        problem = "required" if version is None else f"{version!r} is not an integer"
        raise ValidationFailed(f"version: {problem} (the version this write is based on)",
                               details={"version": [f"{problem}: the version this write is based on"]})
    if version != annotation.version:
        raise _stale(annotation, version)


def _stale(annotation: Annotation, version) -> StaleWrite:
    return StaleWrite(
        f"Annotation {annotation.pk} is at version {annotation.version}; this write was based on {version}. "
        "Reload (the current state is in details.current) and apply your change again.",
        details={"current": annotation_document(annotation)},
    )


class _VersionMoved(Exception):
    """The guarded UPDATE found the annotation at another version than the one checked: raised
    inside the write's transaction to roll it back, turned into StaleWrite outside it."""

    def __init__(self, annotation_id: int, version: int):
        super().__init__(annotation_id, version)
        self.annotation_id, self.version = annotation_id, version


@contextmanager
def versioned_write():
    """transaction.atomic for one annotation write (every service that calls _begin_write).
    If the write itself finds the version moved (see _save_versioned), everything the write did
    is rolled back first, then StaleWrite carries the current document as committed."""
    try:
        with transaction.atomic():
            yield
    except _VersionMoved as moved:
        raise _stale(Annotation.objects.get(pk=moved.annotation_id), moved.version) from None


def _begin_write(assignment: Assignment | int, by, version, *, with_article: bool = False,
                 with_spans: bool = False, autosave: bool = False) -> tuple[Assignment, Annotation]:
    """Lock the assignment and its annotation, check who is asking (NotFound / NotAssigned),
    openness and version. Call inside versioned_write(). `with_spans`: the annotation's
    `stored_spans` come with the lock. `autosave`: see annotate.services.queue.assignment_lock."""
    locked = assignment_lock_for(assignment=assignment, user=by, with_article=with_article, with_spans=with_spans,
                                 autosave=autosave)
    annotation = locked.annotation
    if locked.status not in OPEN:
        raise AssignmentClosed(
            f"Assignment {locked.pk} is {locked.status}; ask a reviewer to reopen it.",
            details={"current": annotation_document(annotation)})
    _check_version(annotation, version)
    return locked, annotation


def _save_versioned(annotation: Annotation, fields: list[str], *also, insert=()) -> None:
    """Bump the version and write: the UPDATE of the annotation row itself requires the version
    checked in _begin_write (`WHERE id = … AND version = …`). Under the row lock it always holds;
    the guard keeps the check in the write for any path that reaches here without the lock."""
    checked = annotation.version
    annotation.version += 1
    if not save_fields(annotation, [*fields, "version", "updated_at"], *also, insert=insert,
                       expect=("version", checked)):
        raise _VersionMoved(annotation.pk, checked)


def _finish_write(locked: Assignment, annotation: Annotation, update_fields: list[str],
                  new_spans: list[Span] = ()) -> Annotation:
    """Bump the version, touch the assignment, write both rows and `new_spans` (one round trip on
    PostgreSQL)."""
    assignment_touch(locked, save=False)
    _save_versioned(annotation, update_fields, (locked, TOUCHED_FIELDS), insert=new_spans)
    return annotation


def annotation_update(*, assignment: Assignment | int, by, version, fields: dict, replace: bool) -> Annotation:
    """Autosave. `replace=True` (PUT): `fields` is the whole document, missing fields are reset.
    `replace=False` (PATCH): only the given fields change. Spans given as a list replace the
    annotation's spans: ids kept, new ones created, missing ones deleted. When spans were given,
    the result's `current_spans` holds them as stored (sorted), so no re-read is needed."""
    unknown = sorted(set(fields) - set(DOC_FIELDS))
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field", details={k: ["unknown field"] for k in unknown})
    if replace:
        fields = {"stance": {}, "frames": [], "primary_frame": "", "notes": "", "spans": [],
                  "rejected_suggestions": [], **fields}
    with versioned_write():
        locked, annotation = _begin_write(assignment, by, version, with_spans="spans" in fields, autosave=True)
        if "spans" in fields:
            annotation.stored_spans = locked.stored_spans
        errors = Errors()
        clean = _validate_doc(fields, assignment=locked, annotation=annotation,
                              text_len=_text_len(locked) if "spans" in fields else 0, errors=errors)
        errors.raise_if_any()
        spans = clean.pop("spans", None)
        for key, value in clean.items():
            setattr(annotation, key, value)
        kept, new = _write_spans(annotation, locked, spans) if spans is not None else ([], [])
        _finish_write(locked, annotation, list(clean), new_spans=new)
        if spans is not None:
            annotation.current_spans = sorted([*kept, *new], key=lambda r: (r.start, r.end, r.label, r.pk))
        return annotation


def annotation_submit(*, assignment: Assignment | int, by, version) -> Assignment:
    """Close the assignment as submitted once the annotation is complete: every target has a
    stance; at least one frame when the schema says `frames_required: at_least_one`; a primary
    frame among the chosen frames when `primary_frame_required`. Raises Incomplete (400) naming
    every missing field, StaleWrite (409) on an old version. Returns the assignment with its
    article, annotator and annotation loaded."""
    with versioned_write():
        # The completeness check below reads the annotation as locked: the state this commits.
        locked, annotation = _begin_write(assignment, by, version, with_article=True)
        schema = locked.project.label_schema
        errors = Errors()
        for key in locked.target_keys:
            if not annotation.stance.get(key):
                errors.add(f"stance.{key}", "missing: choose a stance for this target")
        if schema.get("frames_required") == "at_least_one" and not annotation.frames:
            errors.add("frames", "missing: choose at least one frame")
        if schema.get("primary_frame_required") and annotation.frames and not annotation.primary_frame:
            errors.add("primary_frame", "missing: choose the primary frame")
        if annotation.primary_frame and annotation.primary_frame not in annotation.frames:
            errors.add("primary_frame", f"{annotation.primary_frame!r} is not among the chosen frames")
        if locked.project.unreviewed_policy == "block":
            spans, suggestions = split_span_rows(locked.screen_rows)
            left = unreviewed_suggestions(spans=spans, suggestions=suggestions,
                                          rejected=annotation.rejected_suggestions,
                                          span_labels=locked.project.span_labels)
            if left:
                errors.add("suggestions", f"{len(left)} suggestion{'s' if len(left) != 1 else ''} not yet "
                                          "reviewed: accept or reject each (this project requires it)")
        errors.raise_if_any(Incomplete)
        now = timezone.now()
        annotation.submitted_at = now
        assignment_touch(locked, now=now, save=False)
        locked.status = Assignment.Status.SUBMITTED
        locked.submitted_at = now
        locked.lease_expires_at = None
        _save_versioned(annotation, ["submitted_at"], (locked, [*TOUCHED_FIELDS, "submitted_at"]))
        project_id = locked.project_id
        transaction.on_commit(lambda: model_after_submit(project_id))  # retrain after every N (worker)
    return locked
