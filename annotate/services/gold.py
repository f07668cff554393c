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

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotate.agreement import Submitted, submitted_annotations
from annotate.errors import Conflict, ValidationFailed
from annotate.models import Annotation, Article, Assignment, Gold, Project, Span
from annotate.selectors.adjudication import HUMAN_GOLD, disagreements, majority_decision

BATCH = 500  # articles per transaction in bulk operations: bounded locks and memory on large projects


# --- validation -----------------------------------------------------------------------------


def _validate(article: Article, *, stance: Any, frames: Any, primary_frame: Any, spans: Any) -> None:
    """Raise ValidationFailed with field paths (`stance.<key>`, `frames[2]`, `spans[1].end`)."""
    project = article.project
    keys = set(project.targets.values_list("key", flat=True))
    labels, codebook, span_labels = set(project.stance_labels), set(project.frames), set(project.span_labels)
    errors: dict[str, list[str]] = {}
    if not isinstance(stance, dict):
        errors["stance"] = ["must be an object {target key: label}"]
    else:
        for key, label in stance.items():
            if key not in keys:
                errors.setdefault(f"stance.{key}", []).append(f"{key!r} is not a target of this project")
            elif label is not None and label not in labels:
                errors.setdefault(f"stance.{key}", []).append(f"{label!r} is not a stance label")
    if not isinstance(frames, list):
        errors["frames"] = ["must be a list of frames"]
    else:
        for i, frame in enumerate(frames):
            if frame not in codebook:
                errors.setdefault(f"frames[{i}]", []).append(f"{frame!r} is not in the frame codebook")
            elif frames.index(frame) != i:
                errors.setdefault(f"frames[{i}]", []).append(f"duplicate {frame!r}")
    if primary_frame:
        if primary_frame not in codebook:
            errors["primary_frame"] = [f"{primary_frame!r} is not in the frame codebook"]
        elif isinstance(frames, list) and frames and primary_frame not in frames:
            errors["primary_frame"] = ["must be one of the chosen frames"]
    if not isinstance(spans, list):
        errors["spans"] = ["must be a list"]
    else:
        seen: dict[tuple, int] = {}
        length = len(article.text)
        for i, span in enumerate(spans):
            where = f"spans[{i}]"
            if not isinstance(span, dict):
                errors[where] = ["must be an object"]
                continue
            start, end, label = span.get("start"), span.get("end"), span.get("label")
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                errors.setdefault(f"{where}.start", []).append("must be an integer >= 0")
            if not isinstance(end, int) or isinstance(end, bool):
                errors.setdefault(f"{where}.end", []).append("must be an integer")
            elif end > length:
                errors.setdefault(f"{where}.end", []).append(f"{end} is past the end of the text ({length})")
            elif isinstance(start, int) and end <= start:
                errors.setdefault(f"{where}.end", []).append("must be greater than start")
            if label not in span_labels:
                errors.setdefault(f"{where}.label", []).append(f"{label!r} is not a span label")
            if not isinstance(span.get("attrs", {}), dict):
                errors.setdefault(f"{where}.attrs", []).append("must be an object")
            key = (start, end, label)
            if key in seen:
                errors.setdefault(where, []).append(f"duplicate of spans[{seen[key]}]")
            seen.setdefault(key, i)
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", details=errors)


# --- writing --------------------------------------------------------------------------------


def _gold_write(*, article: Article, method: str, by, stance: dict, frames: list, primary_frame: str,
                spans: Iterable[Mapping[str, Any]], notes: str = "") -> Gold:
    """Create or replace the article's gold and its spans. Caller holds the transaction."""
    gold, _ = Gold.objects.update_or_create(article=article, defaults={
        "stance": {k: v for k, v in stance.items() if v}, "frames": list(frames),
        "primary_frame": primary_frame or "", "method": method, "decided_by": by, "notes": notes or "",
    })
    gold.spans.all().delete()
    Span.objects.bulk_create([
        Span(article=article, gold=gold, start=s["start"], end=s["end"], label=s["label"],
             attrs=s.get("attrs") or {}, origin=s.get("origin") or Span.Origin.HUMAN,
             suggestion_id=s.get("suggestion_id"), model_name=s.get("model_name", ""),
             model_version=s.get("model_version", ""))
        for s in spans
    ])
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
    new, changed = [], []
    for article_id, d in decisions:
        gold = existing.get(article_id)
        if gold is not None and gold.method in HUMAN_GOLD:
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
            changed.append(gold)
    Span.objects.filter(gold__in=changed).delete()
    Gold.objects.bulk_create(new, batch_size=BATCH)
    Gold.objects.bulk_update(changed, ["stance", "frames", "primary_frame", "method", "decided_by", "notes",
                                       "decided_at"], batch_size=BATCH)
    by_article = dict(decisions)
    Span.objects.bulk_create([
        Span(article_id=g.article_id, gold=g, start=s["start"], end=s["end"], label=s["label"],
             attrs=s.get("attrs") or {}, origin=s.get("origin") or Span.Origin.HUMAN)
        for g in [*new, *changed] for s in by_article[g.article_id]["spans"]
    ], batch_size=2000)


def _locked(article: Article) -> Article:
    # One reviewer's decision at a time per article: the second waits and then overwrites, so the
    # stored gold is always one whole decision, never a mix of two.
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
    return {"start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
            "origin": span.origin, "suggestion_id": span.suggestion_id, "model_name": span.model_name,
            "model_version": span.model_version}


def gold_pick(*, article: Article, annotation_id: int, by, notes: str = "") -> Gold:
    """Adjudicate by taking one submitted annotation as gold (stance, frames, primary frame and
    copies of its spans). Recorded as `adjudicated` by `by`, now."""
    with transaction.atomic():
        article = _locked(article)
        ann = _submitted_for(article, [annotation_id])[annotation_id]
        return _gold_write(article=article, method=Gold.Method.ADJUDICATED, by=by, stance=ann.stance,
                           frames=ann.frames, primary_frame=ann.primary_frame,
                           spans=[_span_copy(s) for s in ann.spans.all()], notes=notes)


def gold_merge(*, article: Article, by, stance_from: Mapping[str, int] | None = None,
               frames_from: int | None = None, span_ids: Sequence[int] | None = None, notes: str = "") -> Gold:
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
        spans = base["spans"]
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
                           primary_frame=primary, spans=spans, notes=notes)


def gold_edit(*, article: Article, by, stance: dict, frames: list, primary_frame: str = "",
              spans: list[dict[str, Any]] | None = None, notes: str = "") -> Gold:
    """Adjudicate by writing the gold directly (validated against the project's schema and the
    article text: code point offsets, end exclusive). Spans are stored with origin `human`."""
    spans = list(spans or [])
    with transaction.atomic():
        article = _locked(article)
        _validate(article, stance=stance, frames=frames, primary_frame=primary_frame, spans=spans)
        return _gold_write(
            article=article, method=Gold.Method.ADJUDICATED, by=by, stance=stance, frames=frames,
            primary_frame=primary_frame,
            spans=[{"start": s["start"], "end": s["end"], "label": s["label"], "attrs": s.get("attrs") or {}}
                   for s in spans],
            notes=notes)


def gold_delete(*, article: Article) -> bool:
    """Undo a decision: the article goes back to the queue (majority gold may be recomputed)."""
    deleted, _ = Gold.objects.filter(article=article).delete()
    return bool(deleted)


# --- bulk -----------------------------------------------------------------------------------


def _candidates(project: Project, minimum: int, article_ids: Iterable[int] | None) -> list[int]:
    qs = (Article.objects.filter(project=project)
          .annotate(n=Count("assignments", filter=Q(assignments__status=Assignment.Status.SUBMITTED)))
          .filter(n__gte=minimum)
          .exclude(gold__method__in=HUMAN_GOLD))
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
                      .exclude(gold__method__in=HUMAN_GOLD).order_by("pk")}
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
                        .exclude(gold__method__in=HUMAN_GOLD).order_by("pk")}
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
                Gold.objects.filter(pk__in=drop).delete()
                counts["removed"] += len(drop)
            _gold_write_many(decisions, method=Gold.Method.MAJORITY, by=None)
    # Majority gold whose article dropped below the threshold (e.g. an assignment was reopened).
    stale = Gold.objects.filter(article__project=project, method=Gold.Method.MAJORITY).exclude(
        article_id__in=candidates)
    counts["removed"] += stale.delete()[1].get("annotate.Gold", 0)
    return counts
