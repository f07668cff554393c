"""Gold: turning overlapping annotations into one decided label set per article.

Three ways in, by precedence: a reviewer's decision (`adjudicated`: pick one annotation, merge
parts of several, or edit freely), a reviewer's bulk acceptance of unanimous articles
(`unanimous`), and the automatic majority (`majority`). Automatic gold never overwrites a
reviewer's; a reviewer's decision always overwrites whatever was there. Gold spans are Span rows
owned by the Gold (`Span.gold`), never shared with an annotation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotate import spanrules
from annotate.agreement import Submitted, submitted_annotations
from annotate.errors import Conflict, NotFound, StaleWrite, ValidationFailed
from annotate.models import Annotation, Article, Assignment, Gold, Project, Span
from annotate.selectors.adjudication import HUMAN_GOLD, disagreements, majority_decision
from annotate.services.audit import audit_record, audit_record_many

# Gold the automatic writers (majority, bulk unanimous acceptance) never replace: a reviewer's,
# and gold imported with the article (a labelled set loaded on purpose; a reviewer may still
# decide over it by hand).
KEPT_GOLD = (*HUMAN_GOLD, Gold.Method.IMPORTED)

BATCH = 500  # articles per transaction in bulk operations: bounded locks and memory on large projects


# --- validation -----------------------------------------------------------------------------


def _validate(article: Article, *, stance: Any, frames: Any, primary_frame: Any, spans: Any) -> dict[str, Any]:
    """Check a whole gold decision with the shared rules (annotate.spanrules); raise
    ValidationFailed with field paths (`stance.<key>`, `frames[2]`, `spans[1].end`). Returns the
    clean stance (unset targets dropped), frames, primary frame and spans (index, span)."""
    project = article.project
    errors = spanrules.Errors()
    clean = {
        "stance": spanrules.check_stance(stance, errors=errors, stance_labels=project.stance_labels,
                                         target_keys=project.targets.values_list("key", flat=True)),
        "frames": spanrules.check_frames(frames, errors=errors, codebook=project.frames),
        "primary_frame": spanrules.check_primary_frame(primary_frame, errors=errors, codebook=project.frames,
                                                       frames=frames),
        "spans": spanrules.check_spans(spans, errors=errors, text_len=len(article.text), text=article.text,
                                       span_labels=project.span_labels),
    }
    errors.raise_if_any()
    return clean


# --- snapshots, versions, audit -------------------------------------------------------------


def span_provenance(span: Span) -> dict[str, Any]:
    """Where a gold span came from: {"from": annotation|suggestion|consensus|adjudicator, plus the
    annotation or suggestion id it was taken from (an adjudicator's change keeps it as `based_on`)}."""
    out: dict[str, Any] = {"from": span.gold_source or Span.GoldSource.ADJUDICATOR}
    if span.from_annotation_id:
        out["annotation"] = span.from_annotation_id
    if span.suggestion_id:
        out["suggestion"] = span.suggestion_id
    return out


def gold_snapshot(gold: Gold | None) -> dict[str, Any] | None:
    """The gold as JSON (for audit before/after and stale-write answers), spans in text order."""
    if gold is None:
        return None
    spans = sorted(gold.spans.all(), key=lambda s: (s.start, s.end, s.label, s.pk))
    return {
        "id": gold.pk, "method": gold.method, "version": gold.version, "stance": gold.stance,
        "frames": gold.frames, "primary_frame": gold.primary_frame, "notes": gold.notes,
        "decided_by": gold.decided_by.get_username() if gold.decided_by_id else None,
        "decided_at": gold.decided_at.isoformat() if gold.decided_at else None,
        "spans": [{"id": s.pk, "start": s.start, "end": s.end, "label": s.label, "attrs": s.attrs,
                   "provenance": span_provenance(s)} for s in spans],
    }


def _current(article: Article) -> Gold | None:
    return Gold.objects.filter(article=article).select_related("decided_by").first()


def _check_version(gold: Gold | None, version: int | None) -> None:
    """`version` None: the caller did not say what it saw (last write wins, one at a time).
    0: the caller saw no gold. Otherwise it must be the stored gold's version."""
    if version is None:
        return
    current = gold.version if gold is not None else 0
    if version != current:
        raise StaleWrite(
            f"The gold of this article is at version {current}; this write was based on {version}. "
            "Reload (the current gold is in details.current) and apply your change again.",
            details={"current": gold_snapshot(gold)})


def _audit(article: Article, by, before: dict | None, gold: Gold | None) -> None:
    after = gold_snapshot(gold)
    action = "gold.delete" if gold is None else "gold.create" if before is None else "gold.update"
    audit_record(project=article.project_id, by=by, action=action, object_type="gold",
                 object_id=gold.pk if gold is not None else before["id"],
                 before=before, after=after)


# --- writing --------------------------------------------------------------------------------


def _span_row(article: Article, gold: Gold, s: Mapping[str, Any]) -> Span:
    return Span(article=article, gold=gold, start=s["start"], end=s["end"], label=s["label"],
                attrs=s.get("attrs") or {}, origin=s.get("origin") or Span.Origin.HUMAN,
                suggestion_id=s.get("suggestion_id"), model_name=s.get("model_name", ""),
                model_version=s.get("model_version", ""),
                gold_source=s.get("gold_source") or Span.GoldSource.ADJUDICATOR,
                from_annotation_id=s.get("from_annotation_id"))


def _gold_write(*, article: Article, method: str, by, stance: dict, frames: list, primary_frame: str,
                spans: Iterable[Mapping[str, Any]], notes: str = "", version: int | None = None) -> Gold:
    """Create or replace the article's gold and its spans, bump its version and record the audit
    event. A span dict with `id` (a span of this gold) keeps its row and provenance. Caller holds
    the transaction and the article lock."""
    gold = _current(article)
    _check_version(gold, version)
    before = gold_snapshot(gold)
    values = {"stance": {k: v for k, v in stance.items() if v}, "frames": list(frames),
              "primary_frame": primary_frame or "", "method": method, "decided_by": by, "notes": notes or ""}
    if gold is None:
        gold = Gold.objects.create(article=article, **values)
    else:
        for key, value in values.items():
            setattr(gold, key, value)
        gold.version += 1
        gold.save()
    spans = list(spans)
    keep = {s["id"] for s in spans if s.get("id")}
    gold.spans.exclude(pk__in=keep).delete()
    rows = {r.pk: r for r in gold.spans.filter(pk__in=keep)}
    changed = []
    for s in spans:
        row = rows.get(s.get("id"))
        if row is None:
            continue
        if (row.start, row.end, row.label, row.attrs) != (s["start"], s["end"], s["label"], s.get("attrs") or {}):
            if (row.start, row.end, row.label) != (s["start"], s["end"], s["label"]):
                row.gold_source = Span.GoldSource.ADJUDICATOR
            row.start, row.end, row.label, row.attrs = s["start"], s["end"], s["label"], s.get("attrs") or {}
            changed.append(row)
    if changed:
        Span.objects.bulk_update(changed, ["start", "end", "label", "attrs", "gold_source"])
    Span.objects.bulk_create([_span_row(article, gold, s) for s in spans if s.get("id") not in rows])
    _audit(article, by, before, gold)
    return gold


def _gold_write_many(decisions: Sequence[tuple[int, dict[str, Any]]], *, method: str, by) -> None:
    """Bulk `_gold_write` for many articles: {stance, frames, primary_frame, spans} per article
    id, in a fixed number of queries. Never replaces a reviewer's gold (adjudicated or accepted
    unanimous), even one committed after the caller selected its candidates. Caller holds the
    transaction and the article locks."""
    if not decisions:
        return
    now = timezone.now()
    existing = {g.article_id: g for g in Gold.objects.filter(article_id__in=[a for a, _ in decisions])}
    before = _snapshots([g for g in existing.values() if g.method not in KEPT_GOLD])
    new, changed = [], []
    for article_id, d in decisions:
        gold = existing.get(article_id)
        if gold is not None and gold.method in KEPT_GOLD:
            # A reviewer decided while this batch waited for its locks: theirs stands.
            continue
        values = {"stance": {k: v for k, v in d["stance"].items() if v}, "frames": list(d["frames"]),
                  "primary_frame": d["primary_frame"] or "", "method": method, "decided_by": by, "notes": ""}
        if gold is None:
            new.append(Gold(article_id=article_id, decided_at=now, **values))
        else:
            for key, value in values.items():
                setattr(gold, key, value)
            gold.decided_at = now
            gold.version += 1
            changed.append(gold)
    Span.objects.filter(gold__in=changed).delete()
    Gold.objects.bulk_create(new, batch_size=BATCH)
    Gold.objects.bulk_update(changed, ["stance", "frames", "primary_frame", "method", "decided_by", "notes",
                                       "decided_at", "version"], batch_size=BATCH)
    by_article = dict(decisions)
    rows = [
        Span(article_id=g.article_id, gold=g, start=s["start"], end=s["end"], label=s["label"],
             attrs=s.get("attrs") or {}, origin=s.get("origin") or Span.Origin.HUMAN,
             gold_source=Span.GoldSource.CONSENSUS)
        for g in [*new, *changed] for s in by_article[g.article_id]["spans"]
    ]
    Span.objects.bulk_create(rows, batch_size=2000)
    if not (new or changed):
        return
    project_id = Article.objects.filter(pk=(new or changed)[0].article_id).values_list("project_id", flat=True).get()
    spans_of: dict[int, list[Span]] = {}
    for row in rows:
        spans_of.setdefault(row.gold_id, []).append(row)
    by_name = by.get_username() if by is not None else None
    after = {g.pk: _snapshot_from(g, spans_of.get(g.pk, []), by_name) for g in [*new, *changed]}
    for action, golds in (("gold.create", new), ("gold.update", changed)):
        if golds:
            audit_record_many(project=project_id, by=by, action=action, object_type="gold", items=[
                (g.pk, _name(g), before.get(g.pk), after[g.pk]) for g in golds])


def _snapshot_from(gold: Gold, spans: Iterable[Span], decided_by: str | None) -> dict[str, Any]:
    """gold_snapshot without queries: the gold row and its spans as loaded."""
    spans = sorted(spans, key=lambda s: (s.start, s.end, s.label, s.pk or 0))
    return {
        "id": gold.pk, "method": gold.method, "version": gold.version, "stance": gold.stance,
        "frames": gold.frames, "primary_frame": gold.primary_frame, "notes": gold.notes,
        "decided_by": decided_by, "decided_at": gold.decided_at.isoformat() if gold.decided_at else None,
        "spans": [{"id": s.pk, "start": s.start, "end": s.end, "label": s.label, "attrs": s.attrs,
                   "provenance": span_provenance(s)} for s in spans],
    }


def _snapshots(golds: Sequence[Gold]) -> dict[int, dict[str, Any]]:
    """Snapshots of many stored golds in two queries (for bulk audit events)."""
    if not golds:
        return {}
    spans: dict[int, list[Span]] = {}
    for row in Span.objects.filter(gold__in=[g.pk for g in golds]):
        spans.setdefault(row.gold_id, []).append(row)
    names = dict(get_user_model().objects.filter(
        pk__in={g.decided_by_id for g in golds if g.decided_by_id}).values_list("pk", "username"))
    return {g.pk: _snapshot_from(g, spans.get(g.pk, []), names.get(g.decided_by_id)) for g in golds}


def _name(gold: Gold) -> str:
    return f"gold for article {gold.article_id}"  # no query per row, unlike str(gold)


def _delete_audited(project: Project, golds: Sequence[Gold]) -> int:
    """Delete golds the bulk writers no longer back, each with its `gold.delete` event."""
    if not golds:
        return 0
    before = _snapshots(golds)
    Gold.objects.filter(pk__in=[g.pk for g in golds]).delete()
    audit_record_many(project=project, by=None, action="gold.delete", object_type="gold",
                      items=[(g.pk, _name(g), before[g.pk], None) for g in golds])
    return len(golds)


def _locked(article: Article) -> Article:
    # One reviewer's write at a time per article: the second waits for the first to commit, then
    # works on (or, with a version, is refused against) the result, so the stored gold is always
    # a sequence of whole writes, never a mix of two.
    return Article.objects.select_for_update(of=("self",)).select_related("project").get(pk=article.pk)


def _submitted_for(article: Article, annotation_ids: Iterable[int]) -> dict[int, Annotation]:
    ids = set(annotation_ids)
    found = {a.pk: a for a in Annotation.objects.filter(
        pk__in=ids, assignment__article=article, assignment__status=Assignment.Status.SUBMITTED,
    ).prefetch_related("spans")}
    missing = sorted(ids - set(found))
    if missing:
        raise ValidationFailed(
            f"annotation {missing[0]} is not a submitted annotation of this article",
            details={"annotation": [f"{m} is not a submitted annotation of this article" for m in missing]})
    return found


def _span_copy(span: Span) -> dict[str, Any]:
    """A gold copy of an annotator's span (or of a suggestion), remembering where it came from."""
    if span.annotation_id is None:
        source = {"gold_source": Span.GoldSource.SUGGESTION, "suggestion_id": span.pk, "from_annotation_id": None}
    else:
        source = {"gold_source": Span.GoldSource.ANNOTATION, "suggestion_id": span.suggestion_id,
                  "from_annotation_id": span.annotation_id}
    return {"start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
            "origin": span.origin, "model_name": span.model_name, "model_version": span.model_version, **source}


def gold_pick(*, article: Article, annotation_id: int, by, notes: str = "", version: int | None = None) -> Gold:
    """Adjudicate by taking one submitted annotation as gold (stance, frames, primary frame and
    copies of its spans). Recorded as `adjudicated` by `by`, now."""
    with transaction.atomic():
        article = _locked(article)
        ann = _submitted_for(article, [annotation_id])[annotation_id]
        return _gold_write(article=article, method=Gold.Method.ADJUDICATED, by=by, stance=ann.stance,
                           frames=ann.frames, primary_frame=ann.primary_frame,
                           spans=[_span_copy(s) for s in ann.spans.all()], notes=notes, version=version)


def gold_merge(*, article: Article, by, stance_from: Mapping[str, int] | None = None,
               frames_from: int | None = None, span_ids: Sequence[int] | None = None, notes: str = "",
               version: int | None = None) -> Gold:
    """Adjudicate by combining parts of several submitted annotations.

    Starts from the majority; `stance_from` = {target key: annotation id} takes that target's
    label from that annotation; `frames_from` takes frames and primary frame from one annotation;
    `span_ids` (spans of this article's submitted annotations) replaces the majority spans. The
    result is validated like an edit.
    """
    with transaction.atomic():
        article = _locked(article)
        stance_from, span_ids = dict(stance_from or {}), list(span_ids or [])
        wanted = set(stance_from.values()) | ({frames_from} if frames_from else set())
        anns = _submitted_for(article, wanted)
        subs = submitted_annotations(project=article.project_id, article_ids=[article.pk]).get(article.pk, [])
        if not subs:
            raise Conflict("this article has no submitted annotation to merge")
        keys = list(article.project.targets.values_list("key", flat=True))
        base = majority_decision(subs, keys)
        stance = dict(base["stance"])
        for key, ann_id in stance_from.items():
            stance[key] = anns[ann_id].stance.get(key)
        frames, primary = base["frames"], base["primary_frame"]
        if frames_from:
            frames, primary = list(anns[frames_from].frames), anns[frames_from].primary_frame
        spans = [{**s, "gold_source": Span.GoldSource.CONSENSUS} for s in base["spans"]]
        if span_ids:
            rows = list(Span.objects.filter(
                pk__in=span_ids, article=article, annotation__assignment__status=Assignment.Status.SUBMITTED))
            missing = sorted(set(span_ids) - {s.pk for s in rows})
            if missing:
                raise ValidationFailed(f"span {missing[0]} is not a span of a submitted annotation of this article",
                                       details={"span_ids": [f"{m} not found" for m in missing]})
            unique: dict[tuple, Span] = {}
            for s in sorted(rows, key=lambda s: s.pk):
                unique.setdefault((s.start, s.end, s.label), s)
            spans = [_span_copy(s) for s in unique.values()]
        _validate(article, stance=stance, frames=frames, primary_frame=primary,
                  spans=[{k: s[k] for k in ("start", "end", "label", "attrs")} for s in spans])
        return _gold_write(article=article, method=Gold.Method.ADJUDICATED, by=by, stance=stance, frames=frames,
                           primary_frame=primary, spans=spans, notes=notes, version=version)


def _sources(article: Article, gold: Gold | None, spans: Sequence[Any]) -> dict[str, dict[int, Span]]:
    """The gold spans (`id`) and source spans (`from_span`: an annotation's span or a suggestion of
    this article) that an edit's spans refer to, each checked; errors name the span."""
    errors = spanrules.Errors()
    ids = {s.get("id") for s in spans if isinstance(s, dict) and s.get("id") is not None}
    froms = {s.get("from_span") for s in spans if isinstance(s, dict) and s.get("from_span") is not None}
    own = {r.pk: r for r in gold.spans.filter(pk__in=[i for i in ids if isinstance(i, int)])} if gold else {}
    sources = {r.pk: r for r in Span.objects.filter(article=article, gold__isnull=True).filter(
        Q(annotation__isnull=True) | Q(annotation__assignment__status=Assignment.Status.SUBMITTED)
    ).filter(pk__in=[i for i in froms if isinstance(i, int)])}
    first: dict[int, int] = {}
    for i, s in enumerate(spans):
        if not isinstance(s, dict):
            continue
        if s.get("id") is not None and s["id"] not in own:
            errors.add(f"spans[{i}].id", f"{s['id']!r} is not a span of this article's gold")
        elif s.get("id") is not None and first.setdefault(s["id"], i) != i:
            errors.add(f"spans[{i}].id", f"{s['id']} is already spans[{first[s['id']]}]")
        if s.get("from_span") is not None and s["from_span"] not in sources:
            errors.add(f"spans[{i}].from_span",
                       f"{s['from_span']!r} is not a submitted annotation's span or a suggestion of this article")
    errors.raise_if_any()
    return {"own": own, "sources": sources}


def _provenance_for(raw: Mapping[str, Any], clean: Mapping[str, Any], refs: dict[str, dict[int, Span]]) -> dict:
    """Provenance of one edited span: kept from the gold span it names (`id`), taken from the
    span it names (`from_span`), else added by the adjudicator. Moved or relabelled: adjudicator,
    with the source kept as what it was based on."""
    if raw.get("id") is not None:
        return {"id": raw["id"]}
    src = refs["sources"].get(raw.get("from_span"))
    if src is None:
        return {"gold_source": Span.GoldSource.ADJUDICATOR}
    copy = _span_copy(src)
    if (src.start, src.end, src.label) != (clean["start"], clean["end"], clean["label"]):
        copy["gold_source"] = Span.GoldSource.ADJUDICATOR
    return {k: copy[k] for k in ("gold_source", "suggestion_id", "from_annotation_id", "origin", "model_name",
                                 "model_version")}


def gold_edit(*, article: Article, by, stance: dict, frames: list, primary_frame: str = "",
              spans: list[dict[str, Any]] | None = None, notes: str = "", version: int | None = None) -> Gold:
    """Adjudicate by writing the gold directly: any article, with any number of annotations (none
    too). Validated against the project's schema and the article text (code point offsets, end
    exclusive). Each span may name the gold span it is (`id`: keeps its provenance) or the span
    it was taken from (`from_span`: a submitted annotation's span or a suggestion); others are
    recorded as added by the adjudicator. `version` (optional; 0 = "no gold yet") must be the
    current gold's version, else StaleWrite."""
    spans = list(spans or [])
    with transaction.atomic():
        article = _locked(article)
        gold = _current(article)
        _check_version(gold, version)
        clean = _validate(article, stance=stance, frames=frames, primary_frame=primary_frame, spans=spans)
        refs = _sources(article, gold, spans)
        return _gold_write(
            article=article, method=Gold.Method.ADJUDICATED, by=by, stance=clean["stance"], frames=clean["frames"],
            primary_frame=clean["primary_frame"],
            spans=[{**s, **_provenance_for(spans[i], s, refs)} for i, s in clean["spans"]],
            notes=notes, version=version)


def gold_delete(*, article: Article, by=None, version: int | None = None) -> bool:
    """Undo a decision: the article goes back to the queue (majority gold may be recomputed).
    The removed gold is kept in the audit trail (`gold.delete`, before = the whole gold)."""
    with transaction.atomic():
        article = _locked(article)
        gold = _current(article)
        _check_version(gold, version)
        if gold is None:
            return False
        before = gold_snapshot(gold)
        gold.delete()
        _audit(article, by, before, None)
        return True


# --- one span at a time ---------------------------------------------------------------------


SPAN_FIELDS = ("start", "end", "label", "attrs", "kind", "speaker", "speaker_span")


def _gold_for_edit(article: Article, by, version: int | None) -> tuple[Gold | None, dict[str, Any]]:
    """The current gold as an editable decision; an article without gold starts from what the
    annotators agree on (the majority; nothing for an article nobody annotated)."""
    gold = _current(article)
    _check_version(gold, version)
    if gold is not None:
        spans = [{"id": s.pk, "start": s.start, "end": s.end, "label": s.label, "attrs": s.attrs}
                 for s in gold.spans.all()]
        return gold, {"stance": dict(gold.stance), "frames": list(gold.frames), "primary_frame": gold.primary_frame,
                      "notes": gold.notes, "spans": spans}
    subs = submitted_annotations(project=article.project_id, article_ids=[article.pk]).get(article.pk, [])
    base = majority_decision(subs, list(article.project.targets.values_list("key", flat=True)))
    return None, {**base, "notes": "", "spans": [{**s, "gold_source": Span.GoldSource.CONSENSUS}
                                                  for s in base["spans"]]}


def _span_values(fields: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a span change into the current span: `attrs` replaces, `kind`, `speaker` and
    `speaker_span` set one attribute each (null removes it)."""
    unknown = sorted(set(fields) - set(SPAN_FIELDS) - {"from_span"})
    if unknown:
        raise ValidationFailed(f"span.{unknown[0]}: unknown field",
                               details={f"span.{k}": ["unknown field"] for k in unknown})
    out = {k: fields.get(k, current.get(k)) for k in ("start", "end", "label")}
    attrs = fields["attrs"] if "attrs" in fields else dict(current.get("attrs") or {})
    if isinstance(attrs, dict):
        attrs = dict(attrs)
        for key in ("kind", "speaker", "speaker_span"):
            if key in fields:
                if fields[key] is None:
                    attrs.pop(key, None)
                else:
                    attrs[key] = fields[key]
    out["attrs"] = attrs
    return out


def _write_spans(article: Article, by, gold: Gold | None, decision: dict[str, Any], spans: list[dict],
                 where: int, version: int | None) -> tuple[Gold, Span | None]:
    """Validate the one changed span (`spans[where]`, errors named `span.<field>`) against the
    text and the others, then store the decision. Returns the gold and that span's row."""
    errors = spanrules.Errors()
    project = article.project
    if where >= 0:
        spanrules.check_span("span", spans[where], errors=errors, text_len=len(article.text), text=article.text,
                             span_labels=project.span_labels)
        errors.raise_if_any()
        mine = spans[where]
        for s in spans:
            if s is not mine and (s["start"], s["end"], s["label"]) == (mine["start"], mine["end"], mine["label"]):
                errors.add("span", f"duplicate of a gold span ({mine['label']} {mine['start']}-{mine['end']})")
        errors.raise_if_any()
    gold = _gold_write(article=article, method=Gold.Method.ADJUDICATED, by=by, stance=decision["stance"],
                       frames=decision["frames"], primary_frame=decision["primary_frame"], spans=spans,
                       notes=decision["notes"])
    if where < 0:
        return gold, None
    mine = spans[where]
    row = gold.spans.filter(start=mine["start"], end=mine["end"], label=mine["label"]).order_by("-pk").first()
    return gold, row


def gold_span_add(*, article: Article, by, fields: Mapping[str, Any], version: int | None = None) -> tuple[Gold, Span]:
    """Add one span to the article's gold (creating the gold from the annotators' majority if
    there is none: any article may be adjudicated, one annotation or none included). `fields`:
    start, end, label, attrs?, kind?, speaker?, speaker_span?, from_span? (the annotator's span or
    suggestion it is taken from). The gold becomes `adjudicated` by `by`."""
    with transaction.atomic():
        article = _locked(article)
        gold, decision = _gold_for_edit(article, by, version)
        new = _span_values(fields, {})
        if fields.get("from_span") is not None:
            refs = _sources(article, gold, [{"from_span": fields["from_span"]}])
            new.update(_provenance_for({"from_span": fields["from_span"]}, new, refs))
        else:
            new["gold_source"] = Span.GoldSource.ADJUDICATOR
        spans = [*decision["spans"], new]
        return _write_spans(article, by, gold, decision, spans, len(spans) - 1, version)


def _find(decision: dict[str, Any], span_id: int) -> int:
    for i, s in enumerate(decision["spans"]):
        if s.get("id") == span_id:
            return i
    raise NotFound(f"span {span_id} is not a span of this article's gold")


def gold_span_update(*, article: Article, span_id: int, by, fields: Mapping[str, Any],
                     version: int | None = None) -> tuple[Gold, Span]:
    """Relabel, move (start/end) or re-attribute (speaker, speaker_span, kind, attrs) one gold
    span. A moved or relabelled span is recorded as the adjudicator's (its source kept)."""
    with transaction.atomic():
        article = _locked(article)
        gold, decision = _gold_for_edit(article, by, version)
        if gold is None:
            raise NotFound(f"span {span_id} is not a span of this article's gold")
        i = _find(decision, span_id)
        decision["spans"][i] = {"id": span_id, **_span_values(fields, decision["spans"][i])}
        return _write_spans(article, by, gold, decision, decision["spans"], i, version)


def gold_span_remove(*, article: Article, span_id: int, by, version: int | None = None) -> Gold:
    """Remove one span from the article's gold (the rest of the gold stays as it is)."""
    with transaction.atomic():
        article = _locked(article)
        gold, decision = _gold_for_edit(article, by, version)
        if gold is None:
            raise NotFound(f"span {span_id} is not a span of this article's gold")
        del decision["spans"][_find(decision, span_id)]
        return _write_spans(article, by, gold, decision, decision["spans"], -1, version)[0]


# --- bulk -----------------------------------------------------------------------------------


def _candidates(project: Project, minimum: int, article_ids: Iterable[int] | None) -> list[int]:
    qs = (Article.objects.filter(project=project)
          .annotate(n=Count("assignments", filter=Q(assignments__status=Assignment.Status.SUBMITTED)))
          .filter(n__gte=minimum)
          .exclude(gold__method__in=KEPT_GOLD))
    if article_ids is not None:
        qs = qs.filter(pk__in=list(article_ids))
    return list(qs.order_by("pk").values_list("pk", flat=True))


def _batches(ids: list[int]):
    for i in range(0, len(ids), BATCH):
        yield ids[i:i + BATCH]


def _spans_of(sub: Submitted) -> list[dict[str, Any]]:
    return [{"start": s, "end": e, "label": label, "attrs": json.loads(attrs)} for s, e, label, attrs in sorted(sub.spans)]


def gold_accept_unanimous(*, project: Project, by, article_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Accept as gold (`unanimous`, decided by `by`) every article whose annotations are complete
    (at least `overlap` and at least two submitted) and identical in stance, frames, primary
    frame and spans. Articles a reviewer already decided are left alone. Restrict with
    `article_ids`. Returns {"accepted": n, "not_unanimous": n, "article_ids": [...]}."""
    keys = list(project.targets.values_list("key", flat=True))
    accepted: list[int] = []
    not_unanimous = 0
    for batch in _batches(_candidates(project, max(2, project.overlap), article_ids)):
        with transaction.atomic():
            by_article = submitted_annotations(project=project, article_ids=batch)
            locked = {a.pk: a for a in Article.objects.select_for_update(of=("self",)).filter(pk__in=batch)
                      .exclude(gold__method__in=KEPT_GOLD).order_by("pk")}
            decisions = []
            for article_id in batch:
                subs = by_article.get(article_id, [])
                if article_id not in locked or len(subs) < 2:
                    continue
                if disagreements(subs, keys):
                    not_unanimous += 1
                    continue
                first = subs[0]
                decisions.append((article_id, {
                    "stance": first.stance, "frames": sorted(first.frames, key=_frame_order(project)),
                    "primary_frame": first.primary_frame, "spans": _spans_of(first)}))
                accepted.append(article_id)
            _gold_write_many(decisions, method=Gold.Method.UNANIMOUS, by=by)
    return {"accepted": len(accepted), "not_unanimous": not_unanimous, "article_ids": accepted}


def _frame_order(project: Project):
    order = {f: i for i, f in enumerate(project.frames)}
    return lambda f: (order.get(f, len(order)), f)


def gold_compute_majority(*, project: Project, min_annotators: int = 2) -> dict[str, int]:
    """(Re)compute majority gold for every article nobody adjudicated or accepted.

    An article gets majority gold when it has at least `min_annotators` submitted annotations
    (one annotator's label is nobody's majority) and a majority on at least one field; targets
    without a majority are left out of its stance. Idempotent: unchanged gold is not rewritten;
    majority gold of an article that no longer qualifies (reopened, tie) is removed. Returns
    counts {"created", "updated", "unchanged", "removed", "no_majority"}.
    """
    keys = list(project.targets.values_list("key", flat=True))
    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0, "no_majority": 0}
    candidates = _candidates(project, min_annotators, None)
    for batch in _batches(candidates):
        with transaction.atomic():
            by_article = submitted_annotations(project=project, article_ids=batch)
            articles = {a.pk: a for a in Article.objects.select_for_update(of=("self",)).filter(pk__in=batch)
                        .exclude(gold__method__in=KEPT_GOLD).order_by("pk")}
            existing = {g.article_id: g for g in Gold.objects.filter(article_id__in=list(articles))}
            existing_spans: dict[int, list] = {}
            for sp in Span.objects.filter(gold__in=list(existing.values())).order_by("start", "end", "label"):
                existing_spans.setdefault(sp.gold_id, []).append(
                    {"start": sp.start, "end": sp.end, "label": sp.label, "attrs": sp.attrs})
            decisions, drop = [], []
            for article_id in articles:
                decision = majority_decision(by_article.get(article_id, []), keys)
                decision["frames"] = sorted(decision["frames"], key=_frame_order(project))
                old = existing.get(article_id)
                if not (decision["stance"] or decision["frames"] or decision["primary_frame"] or decision["spans"]):
                    counts["no_majority"] += 1
                    if old is not None and old.method == Gold.Method.MAJORITY:
                        drop.append(old.pk)
                    continue
                if old is not None and old.method == Gold.Method.MAJORITY and (
                        old.stance, old.frames, old.primary_frame, existing_spans.get(old.pk, [])
                ) == (decision["stance"], decision["frames"], decision["primary_frame"], decision["spans"]):
                    counts["unchanged"] += 1
                    continue
                decisions.append((article_id, decision))
                counts["updated" if old is not None else "created"] += 1
            if drop:
                counts["removed"] += _delete_audited(project, [existing[a] for a in existing
                                                               if existing[a].pk in set(drop)])
            _gold_write_many(decisions, method=Gold.Method.MAJORITY, by=None)
    # Majority gold whose article dropped below the threshold (e.g. an assignment was reopened).
    stale = Gold.objects.filter(article__project=project, method=Gold.Method.MAJORITY).exclude(
        article_id__in=candidates).select_related("article").order_by("pk")
    with transaction.atomic():
        counts["removed"] += _delete_audited(project, list(stale))
    return counts
