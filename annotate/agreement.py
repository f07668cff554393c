"""Inter-annotator agreement: pure metric functions and the project report built from them.

Data model of every metric: a mapping `unit -> {coder: value}`. A unit is one article (for
stance: one article × target), a coder is an annotator. Missing data — annotators see different
subsets of articles, or leave a target unlabelled — is simply an absent key (or a None value):

* Krippendorff's alpha uses every unit with at least two values (Krippendorff's "pairable"
  values); a unit with a single value carries no information about agreement and is dropped.
* Fleiss' kappa uses the generalisation for a varying number of raters per item (each item's
  observed agreement is computed over its own raters and items are averaged with equal weight;
  chance agreement comes from the pooled category proportions). With the same number of raters
  on every item it is exactly Fleiss (1971), which is what statsmodels implements.
* Cohen's kappa is computed for each pair of annotators over the units both of them labelled.

Degenerate data never yields NaN: a metric that is undefined (nothing to compare, or a single
category so that chance agreement is perfect) is a `Metric` with `value=None` and a `reason`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from annotate.models import Annotation, Article, Assignment, Gold, Project, Span

Level = Literal["nominal", "ordinal"]
SpanKey = tuple[int, int, str]  # (start, end, label), code point offsets

NO_PAIRS = "no item was labelled by two or more annotators"
ONE_CATEGORY = "every label given is the same category, so chance agreement is perfect and the statistic is undefined"


@dataclass(frozen=True)
class Metric:
    """One agreement figure. `value` is None exactly when the figure is undefined, and then
    `reason` says why; `items` is how many units went into it."""

    value: float | None
    items: int = 0
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        value = None if self.value is None or not math.isfinite(self.value) else round(self.value, 6)
        return {"value": value, "items": self.items, "reason": self.reason}


def _pairable(units: Mapping[Hashable, Mapping[Hashable, Any]]) -> list[list[Any]]:
    out = []
    for ratings in units.values():
        values = [v for v in ratings.values() if v is not None]
        if len(values) >= 2:
            out.append(values)
    return out


# --- chance-corrected agreement on labels ---------------------------------------------------


def krippendorff_alpha(units: Mapping[Hashable, Mapping[Hashable, Any]], *, level: Level = "nominal",
                       categories: Sequence[Any] | None = None) -> Metric:
    """Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").

    Built from the coincidence matrix: a unit with m values adds 1/(m-1) for each ordered pair of
    its values, so units with more coders do not weigh more per value. `level="ordinal"` needs
    `categories` in rank order (the ordinal distance uses the marginal frequencies between two
    ranks). Units with fewer than two values are left out (`items` counts the rest).
    """
    values = _pairable(units)
    if not values:
        return Metric(None, 0, NO_PAIRS)
    if categories is None:
        if level == "ordinal":
            raise ValueError("ordinal alpha needs the categories in rank order")
        categories = sorted({v for vals in values for v in vals}, key=repr)
    index = {c: i for i, c in enumerate(categories)}
    unknown = {v for vals in values for v in vals if v not in index}
    if unknown:
        raise ValueError(f"values outside the categories: {sorted(map(repr, unknown))}")
    k = len(categories)
    o = [[0.0] * k for _ in range(k)]
    for vals in values:
        m = len(vals)
        counts = Counter(index[v] for v in vals)
        for c, nc in counts.items():
            for d, nd in counts.items():
                o[c][d] += nc * (nd - (c == d)) / (m - 1)
    n_c = [sum(row) for row in o]
    n = sum(n_c)
    if sum(1 for x in n_c if x > 0) < 2:
        return Metric(None, len(values), ONE_CATEGORY)

    def delta(c: int, d: int) -> float:
        if level == "nominal":
            return 0.0 if c == d else 1.0
        lo, hi = min(c, d), max(c, d)
        return (sum(n_c[lo:hi + 1]) - (n_c[lo] + n_c[hi]) / 2) ** 2

    observed = sum(o[c][d] * delta(c, d) for c in range(k) for d in range(k))
    expected = sum(n_c[c] * n_c[d] * delta(c, d) for c in range(k) for d in range(k)) / (n - 1)
    return Metric(1.0 - observed / expected, len(values))


def fleiss_kappa(units: Mapping[Hashable, Mapping[Hashable, Any]]) -> Metric:
    """Fleiss' kappa, generalised to a varying number of raters per item (see the module docstring).

    Items with fewer than two ratings are left out. Undefined (None) when only one category was
    ever used.
    """
    values = _pairable(units)
    if not values:
        return Metric(None, 0, NO_PAIRS)
    totals: Counter[Any] = Counter()
    per_item = 0.0
    for vals in values:
        n_i = len(vals)
        counts = Counter(vals)
        totals.update(counts)
        per_item += (sum(c * c for c in counts.values()) - n_i) / (n_i * (n_i - 1))
    if len(totals) < 2:
        return Metric(None, len(values), ONE_CATEGORY)
    p_bar = per_item / len(values)
    n_total = sum(totals.values())
    p_e = sum((c / n_total) ** 2 for c in totals.values())
    return Metric((p_bar - p_e) / (1 - p_e), len(values))


def cohen_kappa(pairs: Iterable[tuple[Any, Any]]) -> Metric:
    """Cohen's kappa of two coders from their (a, b) labels on the items both labelled.

    Computed in integers, so "perfect chance agreement" (both used one and the same category;
    scikit-learn returns NaN there) is detected exactly and reported as None.
    """
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    n = len(pairs)
    if n == 0:
        return Metric(None, 0, "the two annotators have no item in common")
    agree = sum(1 for a, b in pairs if a == b)
    ca = Counter(a for a, _ in pairs)
    cb = Counter(b for _, b in pairs)
    chance = sum(ca[c] * cb[c] for c in ca)  # n² × expected agreement
    if chance == n * n:
        return Metric(None, n, "both annotators used one and the same category only")
    return Metric((n * agree - chance) / (n * n - chance), n)


def percent_agreement(units: Mapping[Hashable, Mapping[Hashable, Any]]) -> Metric:
    """Share of agreeing ordered pairs of values within units (no chance correction)."""
    values = _pairable(units)
    if not values:
        return Metric(None, 0, NO_PAIRS)
    total = 0.0
    for vals in values:
        m = len(vals)
        counts = Counter(vals)
        total += sum(c * (c - 1) for c in counts.values()) / (m * (m - 1))
    return Metric(total / len(values), len(values))


@dataclass(frozen=True)
class PairMetric:
    a: Hashable
    b: Hashable
    metric: Metric


def pairwise_cohen(units: Mapping[Hashable, Mapping[Hashable, Any]]) -> list[PairMetric]:
    """Cohen's kappa for every pair of coders that share at least one labelled unit."""
    shared: dict[tuple, list[tuple[Any, Any]]] = defaultdict(list)
    for ratings in units.values():
        given = _sorted([(c, v) for c, v in ratings.items() if v is not None], key=lambda cv: cv[0])
        for (ca, va), (cb, vb) in itertools.combinations(given, 2):
            shared[(ca, cb)].append((va, vb))
    return [PairMetric(a, b, cohen_kappa(pairs)) for (a, b), pairs in _sorted(shared.items(), key=lambda kv: kv[0])]


def _sorted(items: Iterable, key) -> list:
    """Sorted naturally when the keys compare (annotator ids do), else by repr: deterministic output."""
    items = list(items)
    try:
        return sorted(items, key=key)
    except TypeError:
        return sorted(items, key=lambda x: repr(key(x)))


def mean_metric(metrics: Iterable[Metric], *, reason: str = "no pair had a defined value") -> Metric:
    """Unweighted mean of the defined values (undefined ones are skipped, not counted as 0)."""
    defined = [m for m in metrics if m.value is not None]
    if not defined:
        return Metric(None, 0, reason)
    return Metric(sum(m.value for m in defined) / len(defined), len(defined))


# --- sets: frames ---------------------------------------------------------------------------


def jaccard(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|A∩B| / |A∪B|; two empty sets agree perfectly (1.0)."""
    a, b = set(a), set(b)
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


def mean_pairwise_jaccard(units: Mapping[Hashable, Mapping[Hashable, Iterable[Hashable]]]) -> Metric:
    """Mean over units (with ≥2 coders) of the mean Jaccard over that unit's coder pairs."""
    per_unit = []
    for sets in units.values():
        given = [frozenset(s) for s in sets.values() if s is not None]
        if len(given) < 2:
            continue
        scores = [jaccard(x, y) for x, y in itertools.combinations(given, 2)]
        per_unit.append(sum(scores) / len(scores))
    if not per_unit:
        return Metric(None, 0, NO_PAIRS)
    return Metric(sum(per_unit) / len(per_unit), len(per_unit))


def presence_units(units: Mapping[Hashable, Mapping[Hashable, Iterable[Hashable]]],
                   item: Hashable) -> dict[Hashable, dict[Hashable, int]]:
    """Turn set-valued ratings into 1/0 presence of `item` (absence from a submitted set is a
    real observation: the annotator considered the frame and did not choose it)."""
    return {u: {c: int(item in s) for c, s in sets.items() if s is not None} for u, sets in units.items()}


# --- spans ----------------------------------------------------------------------------------


@dataclass
class SpanCounts:
    """Pooled counts for span F1 of a 'predicted' side A against a 'reference' side B.

    exact: tp spans identical on both sides. overlap: a span is matched when the other side has a
    span of the same label sharing at least one character; matched_a/matched_b count each side.
    """

    a: int = 0
    b: int = 0
    tp: int = 0
    matched_a: int = 0
    matched_b: int = 0

    def add(self, a_spans: Iterable[SpanKey], b_spans: Iterable[SpanKey]) -> None:
        sa, sb = set(a_spans), set(b_spans)
        self.a += len(sa)
        self.b += len(sb)
        self.tp += len(sa & sb)
        self.matched_a += sum(1 for x in sa if any(_overlaps(x, y) for y in sb))
        self.matched_b += sum(1 for y in sb if any(_overlaps(x, y) for x in sa))

    def exact_f1(self) -> Metric:
        if self.a + self.b == 0:
            return Metric(None, 0, "no spans on either side")
        return Metric(2 * self.tp / (self.a + self.b), self.a + self.b)

    def overlap_f1(self) -> Metric:
        if self.a + self.b == 0:
            return Metric(None, 0, "no spans on either side")
        precision = self.matched_a / self.a if self.a else 0.0
        recall = self.matched_b / self.b if self.b else 0.0
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        return Metric(f1, self.a + self.b)


def _overlaps(x: SpanKey, y: SpanKey) -> bool:
    return x[2] == y[2] and x[0] < y[1] and y[0] < x[1]


def span_pair_counts(a_spans: Iterable[SpanKey], b_spans: Iterable[SpanKey]) -> dict[str, SpanCounts]:
    """Per-label counts of A against B (one article, one pair of annotators)."""
    by_label: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for s in a_spans:
        by_label[s[2]][0].append(s)
    for s in b_spans:
        by_label[s[2]][1].append(s)
    out = {}
    for label, (xs, ys) in by_label.items():
        out[label] = SpanCounts()
        out[label].add(xs, ys)
    return out


# --- gathering a project's annotations ------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """One submitted annotation, reduced to what agreement and adjudication compare."""

    id: int
    article_id: int
    annotator_id: int
    stance: dict[str, str]
    frames: frozenset[str]
    primary_frame: str
    spans: frozenset[tuple[int, int, str, str]]  # (start, end, label, attrs as canonical JSON)
    submitted_at: Any = None

    @property
    def span_keys(self) -> frozenset[SpanKey]:
        return frozenset((s, e, label) for s, e, label, _ in self.spans)

    def same_as(self, other: Submitted) -> bool:
        return (self.stance == other.stance and self.frames == other.frames
                and self.primary_frame == other.primary_frame and self.spans == other.spans)


def canonical_attrs(attrs: Any) -> str:
    return json.dumps(attrs or {}, sort_keys=True, ensure_ascii=False)


def submitted_annotations(*, project: Project | int, article_ids: Iterable[int] | None = None
                          ) -> dict[int, list[Submitted]]:
    """Submitted annotations of the project grouped by article id (annotations of open or
    skipped assignments are drafts, never compared). Two queries, streamed."""
    project_id = project if isinstance(project, int) else project.pk
    anns = Annotation.objects.filter(
        assignment__project_id=project_id, assignment__status=Assignment.Status.SUBMITTED)
    if article_ids is not None:
        anns = anns.filter(assignment__article_id__in=list(article_ids))
    spans: dict[int, set] = defaultdict(set)
    span_rows = Span.objects.filter(annotation__in=anns).values_list("annotation_id", "start", "end", "label", "attrs")
    for ann_id, start, end, label, attrs in span_rows.iterator(chunk_size=2000):
        spans[ann_id].add((start, end, label, canonical_attrs(attrs)))
    out: dict[int, list[Submitted]] = defaultdict(list)
    rows = anns.order_by("assignment__article_id", "assignment__annotator_id").values_list(
        "id", "assignment__article_id", "assignment__annotator_id", "stance", "frames", "primary_frame",
        "submitted_at")
    for ann_id, article_id, annotator_id, stance, frames, primary, submitted_at in rows.iterator(chunk_size=2000):
        out[article_id].append(Submitted(
            id=ann_id, article_id=article_id, annotator_id=annotator_id,
            stance={k: v for k, v in (stance or {}).items() if v},
            frames=frozenset(frames or []), primary_frame=primary or "",
            spans=frozenset(spans.get(ann_id, ())), submitted_at=submitted_at,
        ))
    return dict(out)


# --- the project report ---------------------------------------------------------------------


@dataclass
class AgreementReport:
    """Everything the agreement endpoint and dashboard show; `as_dict()` is JSON-ready (no NaN)."""

    project_id: int
    computed_at: Any
    articles: dict[str, int]
    annotators: list[dict[str, Any]]
    stance: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Any] = field(default_factory=dict)
    vs_gold: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project_id, "computed_at": self.computed_at, "articles": self.articles,
            "annotators": self.annotators, "stance": self.stance, "frames": self.frames,
            "spans": self.spans, "vs_gold": self.vs_gold,
        }


def _pairs_out(pairs: list[PairMetric]) -> list[dict[str, Any]]:
    return [{"a": p.a, "b": p.b, "kappa": p.metric.as_dict()} for p in pairs]


def agreement_report(*, project: Project) -> AgreementReport:
    """Agreement of the project's submitted annotations, per target, per frame, per span label,
    and of each annotator against gold. Articles with one submitted annotation are excluded from
    the inter-annotator figures and counted in `articles.single_annotator_excluded`."""
    by_article = submitted_annotations(project=project)
    multi = {a: subs for a, subs in by_article.items() if len(subs) >= 2}
    annotator_ids = sorted({s.annotator_id for subs in by_article.values() for s in subs})
    users = dict(get_user_model().objects.filter(id__in=annotator_ids).values_list("id", "username"))
    report = AgreementReport(
        project_id=project.pk,
        computed_at=timezone.now().isoformat(),
        articles={
            "total": Article.objects.filter(project=project).count(),
            "with_submissions": len(by_article),
            "compared": len(multi),
            "single_annotator_excluded": len(by_article) - len(multi),
        },
        annotators=[{"id": uid, "username": users.get(uid, str(uid))} for uid in annotator_ids],
    )
    report.stance = _stance_section(project, multi)
    report.frames = _frames_section(project, multi)
    report.spans = _spans_section(multi)
    report.vs_gold = _gold_section(project, by_article, annotator_ids, users)
    return report


# Long enough that a dashboard polling every 15 s recomputes only after something changed; the
# fingerprint in the key makes any new submission, reopen, gold decision or schema edit a miss.
REPORT_CACHE_SECONDS = 600


def annotations_fingerprint(*, project: Project) -> str:
    """Changes whenever anything an agreement report or adjudication queue reads changes:
    submissions (count, last submission, last annotation write), gold (count, last decision),
    targets and label schema. Three small aggregate queries."""
    subs = Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED).aggregate(
        n=Count("pk"), last=Max("submitted_at"), edited=Max("annotation__updated_at"))
    gold = Gold.objects.filter(article__project=project).aggregate(n=Count("pk"), last=Max("decided_at"))
    targets = list(project.targets.values_list("id", "key", "name", "position"))
    raw = json.dumps([project.pk, str(project.created_at), str(project.updated_at), project.label_schema,
                      project.overlap, subs, gold, targets], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def agreement_report_cached(*, project: Project) -> dict[str, Any]:
    """`agreement_report(...).as_dict()`, reused until the project's annotations change."""
    key = f"standpoint:agreement:v1:{project.pk}:{annotations_fingerprint(project=project)}"
    report = cache.get(key)
    if report is None:
        report = agreement_report(project=project).as_dict()
        cache.set(key, report, REPORT_CACHE_SECONDS)
    return report


def _stance_section(project: Project, multi: dict[int, list[Submitted]]) -> list[dict[str, Any]]:
    ordered = bool(project.label_schema.get("stance_ordered"))
    labels = project.stance_labels
    out = []
    for target in project.targets.all():
        units = {a: {s.annotator_id: s.stance.get(target.key) for s in subs} for a, subs in multi.items()}
        # Labels outside the current schema (renamed since) still count, ranked after the known ones.
        seen = {v for r in units.values() for v in r.values() if v is not None}
        categories = labels + sorted(seen - set(labels))
        level: Level = "ordinal" if ordered else "nominal"
        single = sum(1 for r in units.values() if sum(v is not None for v in r.values()) == 1)
        pairs = pairwise_cohen(units)
        counts = Counter(v for r in units.values() for v in r.values() if v is not None)
        out.append({
            "target": target.key, "name": target.name, "level": level,
            "items": sum(1 for r in units.values() if sum(v is not None for v in r.values()) >= 2),
            "single_label_excluded": single,
            "alpha": krippendorff_alpha(units, level=level, categories=categories).as_dict(),
            "alpha_nominal": krippendorff_alpha(units, level="nominal", categories=categories).as_dict(),
            "fleiss_kappa": fleiss_kappa(units).as_dict(),
            "percent_agreement": percent_agreement(units).as_dict(),
            "cohen_kappa_pairs": _pairs_out(pairs),
            "cohen_kappa_mean": mean_metric(p.metric for p in pairs).as_dict(),
            "label_counts": {label: counts.get(label, 0) for label in categories},
        })
    return out


def _frames_section(project: Project, multi: dict[int, list[Submitted]]) -> dict[str, Any]:
    units = {a: {s.annotator_id: s.frames for s in subs} for a, subs in multi.items()}
    seen = {f for r in units.values() for fs in r.values() for f in fs}
    frames = project.frames + sorted(seen - set(project.frames))
    per_frame = []
    for frame in frames:
        presence = presence_units(units, frame)
        per_frame.append({
            "frame": frame,
            "chosen": sum(v for r in presence.values() for v in r.values()),
            "alpha": krippendorff_alpha(presence, categories=[0, 1]).as_dict(),
        })
    primary = {a: {s.annotator_id: s.primary_frame or None for s in subs} for a, subs in multi.items()}
    return {
        "items": len(units),
        "mean_jaccard": mean_pairwise_jaccard(units).as_dict(),
        "primary_frame_alpha": krippendorff_alpha(primary).as_dict(),
        "per_frame": per_frame,
    }


def _spans_section(multi: dict[int, list[Submitted]]) -> dict[str, Any]:
    per_label: dict[str, SpanCounts] = defaultdict(SpanCounts)
    per_pair: dict[tuple[int, int], SpanCounts] = defaultdict(SpanCounts)
    for subs in multi.values():
        for x, y in itertools.combinations(sorted(subs, key=lambda s: s.annotator_id), 2):
            for label, counts in span_pair_counts(x.span_keys, y.span_keys).items():
                for target in (per_label[label], per_pair[(x.annotator_id, y.annotator_id)]):
                    target.a += counts.a
                    target.b += counts.b
                    target.tp += counts.tp
                    target.matched_a += counts.matched_a
                    target.matched_b += counts.matched_b
    return {
        "items": len(multi),
        "per_label": [
            {"label": label, "spans": c.a + c.b, "exact_f1": c.exact_f1().as_dict(),
             "overlap_f1": c.overlap_f1().as_dict()}
            for label, c in sorted(per_label.items())
        ],
        "pairs": [
            {"a": a, "b": b, "exact_f1": c.exact_f1().as_dict(), "overlap_f1": c.overlap_f1().as_dict()}
            for (a, b), c in sorted(per_pair.items())
        ],
    }


def _gold_section(project: Project, by_article: dict[int, list[Submitted]], annotator_ids: list[int],
                  users: dict[int, str]) -> list[dict[str, Any]]:
    golds = {g.article_id: g for g in Gold.objects.filter(article__project=project)}
    if not golds:
        return []
    gold_spans: dict[int, set[SpanKey]] = defaultdict(set)
    for gold_id, start, end, label in Span.objects.filter(gold__article__project=project).values_list(
            "gold_id", "start", "end", "label").iterator(chunk_size=2000):
        gold_spans[gold_id].add((start, end, label))
    targets = [t.key for t in project.targets.all()]
    out = []
    for uid in annotator_ids:
        mine = [(s, golds[a]) for a, subs in by_article.items() if a in golds for s in subs if s.annotator_id == uid]
        if not mine:
            continue
        stance = {}
        for key in targets:
            pairs = [(s.stance.get(key), g.stance.get(key)) for s, g in mine]
            pairs = [(x, y) for x, y in pairs if x and y]
            accuracy = (Metric(sum(x == y for x, y in pairs) / len(pairs), len(pairs)) if pairs
                        else Metric(None, 0, "no article with both a label and a gold label"))
            stance[key] = {"accuracy": accuracy.as_dict(), "kappa": cohen_kappa(pairs).as_dict()}
        jac = [jaccard(s.frames, g.frames) for s, g in mine]
        spans = SpanCounts()
        for s, g in mine:
            spans.add(s.span_keys, gold_spans.get(g.pk, set()))
        out.append({
            "annotator": uid, "username": users.get(uid, str(uid)), "items": len(mine),
            "stance": stance,
            "frames_jaccard": Metric(sum(jac) / len(jac), len(jac)).as_dict(),
            "spans_exact_f1": spans.exact_f1().as_dict(),
            "spans_overlap_f1": spans.overlap_f1().as_dict(),
        })
    return out
