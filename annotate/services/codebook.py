"""Codebook changes: the one way a project's label schema changes once it exists.

A change is a new schema (already merged by the caller, see `merge_patch`) plus `mappings`, per
kind (`stance_labels`, `frames`, `span_labels`), from a label that leaves the schema to a label
of the new schema (rename, merge) or to None (drop its uses). Invariants:

- Adding a label is free. A label that leaves the schema while annotations or gold use it is
  refused (LabelInUse, 409, naming the label and its uses) unless it is mapped; every mapped use
  (suggestions' too) is rewritten in the same transaction as the schema, so nothing is ever
  half-migrated. Suggestions alone never block: a span label they use may go, and they stay
  stored, hidden from annotators (annotate.selectors.queue.shown_suggestions); mapped to None,
  annotators' and gold spans are deleted and suggestions kept.
- Every change bumps the codebook version (`label_schema.version`), which exports record, and is
  audited (`codebook.change`, before/after and what was migrated).
- A change that takes labels away locks every open assignment and every assignment whose
  annotation it rewrites (the lock every annotation writer takes, in id order) and bumps those
  annotations' `version`: an autosave racing the change gets 409 stale_write, and the client
  reloads the new codebook instead of writing a label that no longer exists.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from annotate.errors import Conflict, ValidationFailed
from annotate.label_schema import label_schema_validate
from annotate.models import Annotation, Assignment, Gold, Project, Span
from annotate.services.audit import audit_record
from annotate.services.queue import lock_rows

KINDS = ("stance_labels", "frames", "span_labels")
# Where each kind is used; also the keys of the per-label counts.
USES = {"stance_labels": ("annotations", "gold"), "frames": ("annotations", "gold"),
        "span_labels": ("annotation_spans", "gold_spans", "suggestions")}


class LabelInUse(Conflict):
    code = "label_in_use"


class StaleCodebook(Conflict):
    code = "stale_codebook"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, `null` deletes a key, anything else
    (lists included) replaces. Returns a new value; `target` is not changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@dataclass
class CodebookPlan:
    """What a change does: the answer of the preview, the record of the audit event."""

    version: int
    next_version: int
    schema: dict
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    mappings: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # One entry per removed label: {kind, label, to, action, uses: {annotations: n, …}, total}
    migrate: list[dict] = field(default_factory=list)
    # Removed labels still in use and not mapped: the change would be refused.
    blocked: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.next_version != self.version

    def as_dict(self) -> dict:
        return {"codebook_version": self.version, "next_version": self.next_version, "changed": self.changed,
                "added": self.added, "removed": self.removed, "mappings": self.mappings,
                "migrate": self.migrate, "blocked": self.blocked, "ok": not self.blocked,
                "label_schema": self.schema}


def schema_validated(value: Any) -> dict:
    """The schema validated, errors under `label_schema.<field>` (as the project API names them)."""
    try:
        return label_schema_validate(value)
    except ValidationFailed as exc:
        details = {k if k == "label_schema" else f"label_schema.{k}": v for k, v in (exc.details or {}).items()}
        first = next(iter(details), "label_schema")
        raise ValidationFailed(f"{first}: {details[first][0]}" if details else exc.message, details=details) from None


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", details={path: [message]})


def _check_mappings(mappings: Any, old: dict, new: dict) -> dict[str, dict[str, str | None]]:
    if mappings is None:
        return {}
    if not isinstance(mappings, dict):
        raise _bad("mappings", "must be an object {kind: {old label: new label or null}}")
    clean: dict[str, dict[str, str | None]] = {}
    for kind, pairs in mappings.items():
        if kind not in KINDS:
            raise _bad(f"mappings.{kind}", f"unknown kind (one of {', '.join(KINDS)})")
        if not isinstance(pairs, dict):
            raise _bad(f"mappings.{kind}", "must be an object {old label: new label or null}")
        for source, to in pairs.items():
            where = f"mappings.{kind}.{source}"
            if source not in old[kind]:
                raise _bad(where, f"{source!r} is not a label of the current {kind}")
            if source in new[kind]:
                raise _bad(where, f"{source!r} stays in {kind}; only a label that leaves can be mapped "
                                  f"(to rename it, replace it in {kind})")
            if to is not None and (not isinstance(to, str) or to not in new[kind]):
                raise _bad(where, f"{to!r} is not a label of the new {kind}")
        if pairs:
            clean[kind] = dict(pairs)
    return clean


def _annotations_of(project: Project):
    return Annotation.objects.filter(assignment__project=project)


def _usage(project: Project, kind: str, labels: set[str]) -> dict[str, Counter]:
    """Uses of each of `labels`, per place (USES[kind]). Stance counts one per annotation and
    target, frames one per annotation (chosen or primary)."""
    out: dict[str, Counter] = {label: Counter() for label in labels}
    if not labels:
        return out
    if kind == "span_labels":
        rows = (Span.objects.filter(article__project=project, label__in=labels).order_by()
                .values_list("label", Q(annotation__isnull=False), Q(gold__isnull=False)))
        for label, owned, gold in rows.iterator():
            out[label]["annotation_spans" if owned else "gold_spans" if gold else "suggestions"] += 1
        return out
    for place, qs in (("annotations", _annotations_of(project)), ("gold", Gold.objects.filter(article__project=project))):
        for stance, frames, primary in qs.order_by().values_list("stance", "frames", "primary_frame").iterator():
            if kind == "stance_labels":
                for value in (stance or {}).values():
                    if value in labels:
                        out[value][place] += 1
            else:
                for label in {*(frames or []), primary} & labels:
                    out[label][place] += 1
    return out


def codebook_plan(*, project: Project, schema: Any, mappings: Any = None) -> CodebookPlan:
    """What changing `project`'s schema to `schema` with `mappings` would do (no write). Raises
    ValidationFailed for an invalid schema or mapping; a removed label in use without mapping is
    reported in `blocked`, not raised (the preview shows it; `codebook_change` refuses it)."""
    old = project.label_schema
    version = int(old.get("version", 1))
    proposed = dict(schema) if isinstance(schema, dict) else schema
    if isinstance(proposed, dict):
        given = proposed.pop("version", version)
        if given != version:
            raise StaleCodebook(
                f"label_schema.version: the codebook is at version {version}; this change was based on {given!r}. "
                "Reload the project and make the change again.",
                details={"label_schema.version": [f"is {version}, not {given!r}"], "current": old})
        proposed["version"] = 1  # validated as the schema format; the codebook version is set below
    new = schema_validated(proposed)
    new["version"] = version
    clean = _check_mappings(mappings, old, new)
    plan = CodebookPlan(version=version, next_version=version, schema=new, mappings=clean)
    for kind in KINDS:
        before, after = list(old.get(kind, [])), new[kind]
        plan.added[kind] = [x for x in after if x not in before]
        plan.removed[kind] = [x for x in before if x not in after]
        usage = _usage(project, kind, set(plan.removed[kind]))
        for label in plan.removed[kind]:
            uses = {place: usage[label][place] for place in USES[kind]}
            total = sum(uses.values())
            if label in clean.get(kind, {}):
                to = clean[kind][label]
                action = "drop" if to is None else "merge" if to in before else "rename"
                plan.migrate.append({"kind": kind, "label": label, "to": to, "action": action,
                                     "uses": uses, "total": total})
            elif total - uses.get("suggestions", 0):  # suggestions alone never block: they stay, hidden
                plan.blocked.append({"kind": kind, "label": label, "uses": uses, "total": total})
            else:
                plan.migrate.append({"kind": kind, "label": label, "to": None, "action": "remove",
                                     "uses": uses, "total": 0})
    if {k: v for k, v in new.items() if k != "version"} != {k: v for k, v in old.items() if k != "version"}:
        plan.next_version = version + 1
        plan.schema = {**new, "version": version + 1}
    return plan


def _refuse_blocked(plan: CodebookPlan) -> None:
    if not plan.blocked:
        return
    details = {}
    for b in plan.blocked:
        uses = ", ".join(f"{n} {place.replace('_', ' ')}" for place, n in b["uses"].items() if n)
        details[f"label_schema.{b['kind']}"] = [
            f"{b['label']!r} is in use ({b['total']}: {uses}); map it in mappings.{b['kind']}.{b['label']} "
            "to a label of the new schema (or to null to drop its uses)"]
    first = next(iter(details))
    raise LabelInUse(f"{first}: {details[first][0]}", details={**details, "blocked": plan.blocked})


def _lock_assignments(project: Project, annotation_ids: set[int]) -> list[int]:
    """Lock the open assignments and those whose annotation is rewritten, in id order (the lock
    every annotation writer takes first, annotate.services.queue.assignment_lock). Returns the
    ids of the annotations whose version is bumped."""
    qs = Assignment.objects.filter(Q(project=project) & (Q(status__in=Assignment.OPEN_STATUSES)
                                                         | Q(annotation__in=annotation_ids))).order_by("id")
    if connection.features.has_select_for_update:
        ids = list(qs.select_for_update(of=("self",)).values_list("id", flat=True))
    else:  # SQLite: the first write takes the database lock; every other writer waits
        ids = list(qs.values_list("id", flat=True))
        Assignment.objects.filter(pk__in=ids).update(status=F("status"))
    return list(Annotation.objects.filter(assignment_id__in=ids).values_list("id", flat=True))


def _rewrite_doc(stance: dict, frames: list, primary: str, maps: dict[str, dict]) -> tuple[dict, list, str]:
    smap, fmap = maps.get("stance_labels", {}), maps.get("frames", {})
    new_stance = {}
    for key, value in (stance or {}).items():
        value = smap.get(value, value) if value in smap else value
        if value is not None:
            new_stance[key] = value
    new_frames: list[str] = []
    for frame in frames or []:
        frame = fmap.get(frame, frame) if frame in fmap else frame
        if frame is not None and frame not in new_frames:
            new_frames.append(frame)
    if primary in fmap:
        primary = fmap[primary] or ""
    return new_stance, new_frames, primary


def _migrate_docs(project: Project, maps: dict[str, dict], now) -> tuple[set[int], int]:
    """Rewrite stance and frames of annotations and gold; returns (the annotations changed, the gold changed)."""
    doc_maps = {k: v for k, v in maps.items() if k in ("stance_labels", "frames")}
    if not doc_maps:
        return set(), 0
    touched: set[int] = set()
    gold_changed = 0
    for model, qs in ((Annotation, _annotations_of(project)), (Gold, Gold.objects.filter(article__project=project))):
        rows = []
        for obj in qs.only("id", "stance", "frames", "primary_frame").order_by("id"):
            stance, frames, primary = _rewrite_doc(obj.stance, obj.frames, obj.primary_frame, doc_maps)
            if (stance, frames, primary) != (obj.stance, obj.frames, obj.primary_frame):
                obj.stance, obj.frames, obj.primary_frame = stance, frames, primary
                rows.append(obj)
        fields = ["stance", "frames", "primary_frame"]
        if model is Annotation:
            for obj in rows:
                obj.updated_at = now
            fields.append("updated_at")
            touched = {o.pk for o in rows}
        else:
            gold_changed = len(rows)
        model.objects.bulk_update(rows, fields, batch_size=500)
    return touched, gold_changed


def _migrate_spans(project: Project, mapping: dict[str, str | None]) -> set[int]:
    """Relabel (or, mapped to None, delete) spans; a relabelled span that equals another span of
    the same annotation or gold (a merge) is removed instead of duplicated. Returns the annotations changed."""
    spans = Span.objects.filter(article__project=project)
    touched = set(spans.filter(label__in=list(mapping), annotation__isnull=False)
                  .values_list("annotation_id", flat=True).distinct())
    for source, to in mapping.items():
        of_label = spans.filter(label=source)
        if to is None:  # suggestions stay stored (hidden from annotators: not a span label any more)
            of_label.filter(Q(annotation__isnull=False) | Q(gold__isnull=False)).delete()
            continue
        for owner in ("annotation", "gold"):
            twin = Span.objects.filter(**{owner: OuterRef(owner)}, start=OuterRef("start"), end=OuterRef("end"),
                                       label=to)
            of_label.filter(**{f"{owner}__isnull": False}).filter(Exists(twin)).delete()
        of_label.update(label=to)
    return touched


def codebook_change(*, project: Project, by, schema: Any, mappings: Any = None) -> CodebookPlan:
    """Change the project's label schema to `schema` (a whole schema; missing keys take the
    defaults), migrating what `mappings` names, atomically (see the module docstring). Raises
    ValidationFailed (bad schema or mapping), StaleCodebook (`schema.version` given and not the
    current one), LabelInUse (a removed label in use and not mapped). A schema equal to the
    current one changes nothing (same version, no event)."""
    caller_project = project
    with transaction.atomic():
        # Serialises codebook changes of one project; the plan is made under the lock so its
        # counts and checks are those the migration sees.
        # (SQLite: takes the database write lock first, see annotate.services.queue.lock_rows.)
        lock_rows(Project.objects.filter(pk=project.pk), touch="updated_at")
        project = Project.objects.get(pk=project.pk)
        plan = codebook_plan(project=project, schema=schema, mappings=mappings)
        _refuse_blocked(plan)
        if not plan.changed:
            return plan
        now = timezone.now()
        bump: set[int] = set()
        if any(plan.removed.values()):
            maps = plan.mappings
            doc_ids = _docs_changing(project, maps)
            if maps.get("span_labels"):
                doc_ids |= set(Span.objects.filter(article__project=project, label__in=list(maps["span_labels"]),
                                                   annotation__isnull=False).values_list("annotation_id", flat=True))
            bump = set(_lock_assignments(project, doc_ids))
            if connection.features.has_select_for_update:
                list(Gold.objects.filter(article__project=project).select_for_update(of=("self",))
                     .values_list("id", flat=True).order_by("id"))
            touched, _ = _migrate_docs(project, maps, now)
            if maps.get("span_labels"):
                touched |= _migrate_spans(project, maps["span_labels"])
            bump |= touched
            Annotation.objects.filter(pk__in=bump).update(version=F("version") + 1, updated_at=now)
        before = project.label_schema
        project.label_schema = plan.schema
        project.save(update_fields=["label_schema", "updated_at"])
        audit_record(project=project, by=by, action="codebook.change", obj=project,
                     before={"label_schema": before},
                     after={"label_schema": plan.schema, "mappings": plan.mappings,
                            "added": {k: v for k, v in plan.added.items() if v},
                            "removed": {k: v for k, v in plan.removed.items() if v},
                            "migrated": [m for m in plan.migrate if m["total"]],
                            "annotations_bumped": len(bump)})
    caller_project.label_schema = plan.schema
    return plan


def _docs_changing(project: Project, maps: dict[str, dict]) -> set[int]:
    """Annotations whose stance or frames a mapping rewrites (read before the locks: closed
    assignments cannot change meanwhile, open ones are all locked anyway)."""
    doc_maps = {k: v for k, v in maps.items() if k in ("stance_labels", "frames")}
    if not doc_maps:
        return set()
    out = set()
    rows = _annotations_of(project).order_by().values_list("id", "stance", "frames", "primary_frame")
    for pk, stance, frames, primary in rows.iterator():
        if _rewrite_doc(stance, frames, primary, doc_maps) != (stance, frames, primary):
            out.add(pk)
    return out


def codebook_usage(*, project: Project) -> dict[str, dict[str, dict[str, int]]]:
    """How often each label of the schema is used, per kind and place (for the Setup screen)."""
    out = {}
    for kind in KINDS:
        usage = _usage(project, kind, set(project.label_schema.get(kind, [])))
        out[kind] = {label: {p: usage[label][p] for p in USES[kind]} for label in project.label_schema.get(kind, [])}
    return out


__all__ = ["CodebookPlan", "LabelInUse", "StaleCodebook", "codebook_change", "codebook_plan", "codebook_usage",
           "merge_patch"]
