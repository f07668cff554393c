"""Reads for adjudication: which articles need a reviewer, and the side-by-side view of one."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from annotate.agreement import Submitted, submitted_annotations
from annotate.consensus import majority_frames, majority_label
from annotate.errors import ValidationFailed
from annotate.models import Annotation, Article, Assignment, Gold, Project, Span, Target

QueueState = Literal["open", "decided", "unanimous", "few", "all"]
QUEUE_STATES: tuple[str, ...] = ("open", "decided", "unanimous", "few", "all")
HUMAN_GOLD = (Gold.Method.ADJUDICATED, Gold.Method.UNANIMOUS)


def disagreements(subs: Sequence[Submitted], target_keys: Sequence[str]) -> list[str]:
    """Fields on which the submitted annotations differ: `stance:<key>`, `frames`,
    `primary_frame`, `spans`. Empty means unanimous. A target one annotator left empty and
    another labelled counts as a disagreement (gold must say something for it)."""
    if len(subs) < 2:
        return []
    out = []
    keys = list(target_keys) + sorted({k for s in subs for k in s.stance} - set(target_keys))
    for key in keys:
        if len({s.stance.get(key) for s in subs}) > 1:
            out.append(f"stance:{key}")
    if len({s.frames for s in subs}) > 1:
        out.append("frames")
    if len({s.primary_frame for s in subs}) > 1:
        out.append("primary_frame")
    if len({s.spans for s in subs}) > 1:
        out.append("spans")
    return out


@dataclass(frozen=True)
class QueueItem:
    article_id: int
    external_id: str | None
    title: str
    source: str
    submitted: int
    overlap: int
    annotators: list[dict[str, Any]]
    disagreements: list[str]
    gold: dict[str, Any] | None = None


def _articles_with_submissions(project: Project, minimum: int):
    return (Article.objects.filter(project=project)
            .annotate(n_submitted=Count("assignments", filter=Q(assignments__status=Assignment.Status.SUBMITTED)))
            .filter(n_submitted__gte=minimum))


def adjudication_queue(*, project: Project, state: QueueState = "open") -> list[QueueItem]:
    """Articles to adjudicate, filtered by `state`:

    * open — at least two submitted annotations that disagree, and no reviewer has decided gold
      yet (majority gold, which is automatic, does not take an article out of the queue);
    * unanimous — at least two, everybody agrees, no reviewer has accepted it yet (the bulk set);
    * few — one submitted annotation or none, no reviewer decision yet: a reviewer may still
      adjudicate it (there is nothing to compare, so it never shows as open);
    * decided — a reviewer has adjudicated or accepted gold, however many annotations it has;
    * all — every article with two or more submissions or a reviewer's decision.
    Ordered by article id; three queries whatever the size.
    """
    if state not in QUEUE_STATES:
        raise ValidationFailed(f"state must be one of {', '.join(QUEUE_STATES)}", details={"state": ["unknown"]})
    human = Q(gold__method__in=HUMAN_GOLD)
    where = {"open": Q(n_submitted__gte=2) & ~human, "unanimous": Q(n_submitted__gte=2) & ~human,
             "few": Q(n_submitted__lt=2) & ~human, "decided": human, "all": Q(n_submitted__gte=2) | human}[state]
    articles = {a.pk: a for a in _articles_with_submissions(project, 0).filter(where).select_related("gold").only(
        "id", "external_id", "title", "source", "gold__method", "gold__decided_at", "gold__decided_by_id")}
    with_subs = [pk for pk, a in articles.items() if a.n_submitted]
    by_article = submitted_annotations(project=project, article_ids=with_subs) if with_subs else {}
    keys = list(project.targets.values_list("key", flat=True))
    user_ids = {s.annotator_id for subs in by_article.values() for s in subs}
    user_ids |= {a.gold.decided_by_id for a in articles.values() if _gold(a) and a.gold.decided_by_id}
    names = dict(get_user_model().objects.filter(id__in=user_ids).values_list("id", "username"))
    out = []
    for article_id in sorted(articles):
        article, subs = articles[article_id], by_article.get(article_id, [])
        diff = disagreements(subs, keys)
        gold = _gold(article)
        keep = {"open": bool(diff), "unanimous": not diff}.get(state, True)
        if not keep:
            continue
        out.append(QueueItem(
            article_id=article_id, external_id=article.external_id, title=article.title, source=article.source,
            submitted=len(subs), overlap=project.overlap,
            annotators=[{"id": s.annotator_id, "username": names.get(s.annotator_id, "")} for s in subs],
            disagreements=diff,
            gold=None if gold is None else {
                "method": gold.method, "decided_at": gold.decided_at,
                "decided_by": names.get(gold.decided_by_id) if gold.decided_by_id else None,
            },
        ))
    return out


def disagreeing_article_ids(*, project: Project | int, article_ids: Sequence[int] | None = None) -> set[int]:
    """Articles whose submitted annotations differ on any field `disagreements` compares (what
    the adjudication queue calls disagreeing): of the whole project, or of the given articles."""
    keys = list(Target.objects.filter(project=project).values_list("key", flat=True))
    subs_by_article = submitted_annotations(project=project, article_ids=article_ids)
    return {article_id for article_id, subs in subs_by_article.items() if disagreements(subs, keys)}


def _gold(article: Article) -> Gold | None:
    try:
        return article.gold
    except Gold.DoesNotExist:
        return None


@dataclass
class SideBySide:
    """One article's annotations next to each other, with the per-field comparison and the
    majority a reviewer may start from. JSON-ready through `as_dict()`."""

    article: dict[str, Any]
    targets: list[dict[str, Any]]
    label_schema: dict[str, Any]
    annotations: list[dict[str, Any]]
    comparison: dict[str, Any]
    majority: dict[str, Any]
    gold: dict[str, Any] | None
    disagreements: list[str] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "article": self.article, "targets": self.targets, "label_schema": self.label_schema,
            "annotations": self.annotations, "disagreements": self.disagreements,
            "comparison": self.comparison, "majority": self.majority, "gold": self.gold,
            "suggestions": self.suggestions,
        }


def _span_out(span: Span, text: str) -> dict[str, Any]:
    return {"id": span.pk, "start": span.start, "end": span.end, "label": span.label, "attrs": span.attrs,
            "origin": span.origin, "text": text[span.start:span.end]}


def _gold_span_out(span: Span, text: str) -> dict[str, Any]:
    from annotate.services.gold import span_provenance

    return {**_span_out(span, text), "provenance": span_provenance(span)}


def majority_decision(subs: Sequence[Submitted], target_keys: Sequence[str]) -> dict[str, Any]:
    """Majority over the submitted annotations: stance per target (targets without a majority are
    left out), frames chosen by more than half, the majority primary frame (or ""), and the spans
    ((start, end, label) chosen by more than half; their attrs are the most common attrs)."""
    keys = list(target_keys) + sorted({k for s in subs for k in s.stance} - set(target_keys))
    stance = {}
    for key in keys:
        label = majority_label(s.stance.get(key) for s in subs)
        if label:
            stance[key] = label
    frames = majority_frames([sorted(s.frames) for s in subs])
    primary = majority_label(s.primary_frame for s in subs) or ""
    span_votes: Counter = Counter()
    attrs_votes: dict[tuple, Counter] = {}
    for s in subs:
        for start, end, label, attrs in s.spans:
            span_votes[(start, end, label)] += 1
            attrs_votes.setdefault((start, end, label), Counter())[attrs] += 1
    spans = [
        {"start": k[0], "end": k[1], "label": k[2], "attrs": json.loads(attrs_votes[k].most_common(1)[0][0])}
        for k, votes in sorted(span_votes.items()) if votes * 2 > len(subs)
    ]
    return {"stance": stance, "frames": frames, "primary_frame": primary, "spans": spans}


def gold_out(gold: Gold | None, text: str, names: dict[int, str] | None = None) -> dict[str, Any] | None:
    if gold is None:
        return None
    decided_by = None
    if gold.decided_by_id:
        decided_by = (names or {}).get(gold.decided_by_id) or gold.decided_by.username
    return {
        "id": gold.pk, "method": gold.method, "version": gold.version, "stance": gold.stance, "frames": gold.frames,
        "primary_frame": gold.primary_frame, "notes": gold.notes,
        "decided_by": decided_by, "decided_at": gold.decided_at,
        "spans": [_gold_span_out(s, text) for s in gold.spans.order_by("start", "end", "label", "id")],
    }


def adjudication_article(*, article: Article) -> SideBySide:
    """The side-by-side view of one article: every submitted annotation (annotator named: this is
    for reviewers, not annotators), where they differ, the majority, and the current gold."""
    project = article.project
    targets = list(project.targets.values("key", "name", "description"))
    keys = [t["key"] for t in targets]
    anns = list(
        Annotation.objects.filter(assignment__article=article, assignment__status=Assignment.Status.SUBMITTED)
        .select_related("assignment__annotator").prefetch_related("spans").order_by("assignment__annotator_id"))
    subs = submitted_annotations(project=project.pk, article_ids=[article.pk]).get(article.pk, [])
    text = article.text
    annotations = [{
        "id": a.pk,
        "annotator": {"id": a.assignment.annotator_id, "username": a.assignment.annotator.username},
        "stance": {k: v for k, v in a.stance.items() if v}, "frames": list(a.frames),
        "primary_frame": a.primary_frame, "notes": a.notes, "submitted_at": a.submitted_at,
        "spans": [_span_out(s, text) for s in sorted(a.spans.all(), key=lambda s: (s.start, s.end, s.label, s.pk))],
    } for a in anns]
    by_id = {s.id: s for s in subs}
    comparison: dict[str, Any] = {"stance": {}, "frames": {}, "spans": []}
    for key in keys:
        labels = {a_id: s.stance.get(key) for a_id, s in by_id.items()}
        comparison["stance"][key] = {"agree": len(set(labels.values())) <= 1, "labels": labels}
    frame_votes = Counter(f for s in subs for f in s.frames)
    comparison["frames"] = {"agree": len({s.frames for s in subs}) <= 1, "votes": dict(sorted(frame_votes.items()))}
    comparison["primary_frame"] = {"agree": len({s.primary_frame for s in subs}) <= 1,
                                   "labels": {a_id: s.primary_frame for a_id, s in by_id.items()}}
    span_owners: dict[tuple, list[int]] = {}
    for s in subs:
        for start, end, label, _attrs in s.spans:
            span_owners.setdefault((start, end, label), []).append(s.id)
    comparison["spans"] = [
        {"start": k[0], "end": k[1], "label": k[2], "text": text[k[0]:k[1]], "annotations": sorted(owners),
         "all_agree": len(owners) == len(subs)}
        for k, owners in sorted(span_owners.items())
    ]
    majority = majority_decision(subs, keys)
    majority["spans"] = [{**s, "text": text[s["start"]:s["end"]]} for s in majority["spans"]]
    gold = Gold.objects.filter(article=article).select_related("decided_by").first()
    return SideBySide(
        article={"id": article.pk, "external_id": article.external_id, "title": article.title,
                 "source": article.source, "url": article.url, "published": article.published,
                 "text": text, "project": project.pk},
        targets=targets,
        label_schema=project.label_schema,
        annotations=annotations,
        disagreements=disagreements(subs, keys),
        comparison=comparison,
        majority=majority,
        gold=gold_out(gold, text),
        # The model's and the import's spans, so a reviewer can take one into gold (its
        # provenance then says "suggestion"); only labels of the project's schema.
        suggestions=[_span_out(s, text) for s in Span.objects.filter(
            article=article, annotation__isnull=True, gold__isnull=True, label__in=project.span_labels,
        ).order_by("start", "end", "label", "id")],
    )
