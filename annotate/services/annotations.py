"""Annotation writes: autosave (replace or patch), submit. Optimistic locking on `version`.

Every write: locks the assignment row (annotate.services.queue.assignment_lock), refuses closed
assignments, checks `version` (stale → StaleWrite carrying the current document, nothing
written), validates against the project schema and the article text with field-path messages,
then writes and bumps `version` by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat, Length
from django.utils import timezone

from annotate.errors import AssignmentClosed, StaleWrite, ValidationFailed
from annotate.hotsql import save_fields
from annotate.models import Annotation, Article, Assignment, Span
from annotate.selectors.annotations import annotation_document, suggestions_for
from annotate.services.queue import OPEN, TOUCHED_FIELDS, assignment_lock_for, assignment_touch

DOC_FIELDS = ("stance", "frames", "primary_frame", "notes", "spans", "rejected_suggestions")
MAX_NOTES_CHARS = 100_000
MAX_ID = 2**62  # ids beyond this cannot exist; refusing them early keeps database errors out


class Errors:
    """Collects field-path errors; raises one ValidationFailed whose message names the first."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, []).append(message)

    def raise_if_any(self, code_cls=ValidationFailed) -> None:
        if self.items:
            path, messages = next(iter(self.items.items()))
            raise code_cls(f"{path}: {messages[0]}", details=self.items)


class Incomplete(ValidationFailed):
    code = "incomplete"


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_spans(spans: Any, *, errors: Errors, text_len: int, span_labels: Iterable[str],
                   suggestion_ids: set[int], own_ids: set[int] | None, path: str = "spans",
                   indexed: bool = True, stored: Iterable[Span] = ()) -> list[dict]:
    """Validate span dicts against the schema and the article text; returns normalised dicts.
    `own_ids`: ids allowed in `id` (spans of this annotation); None = `id` not accepted.
    Errors are named `spans[2].end` (or `span.end` for a single span, `indexed=False`).
    `stored`: the annotation's stored spans; one of them whose label left the schema (a codebook
    change) is named as such, so the annotator can relabel or remove it."""
    labels = set(span_labels)
    stale = {r.pk for r in stored if r.label not in labels} | {(r.start, r.end, r.label) for r in stored
                                                              if r.label not in labels}
    if not isinstance(spans, list):
        errors.add(path, "must be a list")
        return []
    out: list[dict] = []
    seen: dict[tuple, int] = {}
    for i, span in enumerate(spans):
        where = f"{path}[{i}]" if indexed else path
        if not isinstance(span, dict):
            errors.add(where, "must be an object")
            continue
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        ok = True
        for key, value in (("start", start), ("end", end)):
            if not _int(value) or value < 0:
                errors.add(f"{where}.{key}", f"{value!r} is not a non-negative integer")
                ok = False
        if ok:
            if end > text_len:
                errors.add(f"{where}.end", f"{end} is past the end of the text ({text_len})")
                ok = False
            elif start >= end:
                errors.add(f"{where}.end", f"{end} must be greater than start ({start})")
                ok = False
        if not isinstance(label, str) or label not in labels:
            if span.get("id") in stale or (start, end, label) in stale:
                errors.add(where, f'label "{label}" is no longer in this project\'s span labels: '
                                  "relabel or remove this span")
            else:
                errors.add(f"{where}.label", f"{label!r} is not a span label of this project")
            ok = False
        attrs = span.get("attrs") or {}
        if not isinstance(attrs, dict):
            errors.add(f"{where}.attrs", "must be an object")
            ok = False
        suggestion = span.get("suggestion")
        if suggestion is not None and (not _int(suggestion) or suggestion not in suggestion_ids):
            errors.add(f"{where}.suggestion", f"{suggestion!r} is not a suggestion for this article")
            ok = False
        span_id = span.get("id")
        if span_id is not None and (own_ids is None or not _int(span_id) or span_id not in own_ids):
            errors.add(f"{where}.id", f"{span_id!r} is not a span of this annotation")
            ok = False
        if not ok:
            continue
        key = (start, end, label)
        if key in seen:
            errors.add(where, f"duplicate of {path}[{seen[key]}] ({label} {start}-{end})")
            continue
        seen[key] = i
        out.append({"id": span_id, "start": start, "end": end, "label": label, "attrs": attrs,
                    "suggestion": suggestion})
    return out


def _validate_doc(fields: dict, *, assignment: Assignment, annotation: Annotation, text_len: int,
                  errors: Errors) -> dict:
    """Validate the given document fields; returns the normalised values to write."""
    project = assignment.project
    clean: dict[str, Any] = {}
    if "stance" in fields:
        stance = fields["stance"]
        if not isinstance(stance, dict):
            errors.add("stance", "must be an object {target key: label}")
        else:
            keys = set(assignment.target_keys)  # loaded by assignment_lock
            labels = set(project.stance_labels)
            clean["stance"] = {}
            for key, label in stance.items():
                if key not in keys:
                    errors.add(f"stance.{key}", f"{key!r} is not a target of this project")
                elif label is None or label == "":
                    continue  # unset
                elif not isinstance(label, str) or label not in labels:
                    errors.add(f"stance.{key}", f"{label!r} is not a stance label ({', '.join(sorted(labels))})")
                else:
                    clean["stance"][key] = label
    if "frames" in fields:
        frames = fields["frames"]
        codebook = set(project.frames)
        if not isinstance(frames, list):
            errors.add("frames", "must be a list")
        else:
            for i, frame in enumerate(frames):
                if not isinstance(frame, str) or frame not in codebook:
                    errors.add(f"frames[{i}]", f"{frame!r} is not a frame of this project's codebook")
                elif frames.index(frame) != i:
                    errors.add(f"frames[{i}]", f"duplicate {frame!r}")
            clean["frames"] = list(frames)
    if "primary_frame" in fields:
        primary = fields["primary_frame"] or ""
        if not isinstance(primary, str) or (primary and primary not in project.frames):
            errors.add("primary_frame", f"{primary!r} is not a frame of this project's codebook")
        clean["primary_frame"] = primary
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
        raise StaleWrite(
            f"Annotation {annotation.pk} is at version {annotation.version}; this write was based on {version}. "
            "Reload (the current state is in details.current) and apply your change again.",
            details={"current": annotation_document(annotation)},
        )


def _begin_write(assignment: Assignment | int, by, version, *, with_article: bool = False,
                 with_spans: bool = False, autosave: bool = False) -> tuple[Assignment, Annotation]:
    """Lock, check who is asking (NotFound / NotAssigned), openness and version. Call inside
    transaction.atomic. `with_spans`: the annotation's `stored_spans` come with the lock.
    `autosave`: see annotate.services.queue.assignment_lock."""
    locked = assignment_lock_for(assignment=assignment, user=by, with_article=with_article, with_spans=with_spans,
                                 autosave=autosave)
    try:
        annotation = locked.annotation
    except Annotation.DoesNotExist:  # assignments made outside the queue (admin, scripts) start empty
        annotation = locked.annotation = Annotation.objects.create(assignment=locked)
        locked.stored_spans = []
    if locked.status not in OPEN:
        raise AssignmentClosed(
            f"Assignment {locked.pk} is {locked.status}; ask a reviewer to reopen it.",
            details={"current": annotation_document(annotation)})
    _check_version(annotation, version)
    return locked, annotation


def _finish_write(locked: Assignment, annotation: Annotation, update_fields: list[str],
                  new_spans: list[Span] = ()) -> Annotation:
    """Bump the version, touch the assignment, write both rows and `new_spans` (one round trip on
    PostgreSQL)."""
    annotation.version += 1
    assignment_touch(locked, save=False)
    save_fields(annotation, [*update_fields, "version", "updated_at"], (locked, TOUCHED_FIELDS), insert=new_spans)
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
    with transaction.atomic():
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
    with transaction.atomic():
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
        errors.raise_if_any(Incomplete)
        now = timezone.now()
        annotation.submitted_at = now
        annotation.version += 1
        assignment_touch(locked, now=now, save=False)
        locked.status = Assignment.Status.SUBMITTED
        locked.submitted_at = now
        locked.lease_expires_at = None
        save_fields(annotation, ["submitted_at", "version", "updated_at"], (locked, [*TOUCHED_FIELDS, "submitted_at"]))
    return locked
