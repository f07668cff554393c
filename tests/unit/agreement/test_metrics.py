"""The agreement metrics against reference implementations (krippendorff, scikit-learn,
statsmodels) on seeded random data, and against textbook examples computed by hand."""

from __future__ import annotations

import json
import math
import random
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, jaccard_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotate.agreement import (
    SpanCounts,
    cohen_kappa,
    fleiss_kappa,
    jaccard,
    krippendorff_alpha,
    mean_pairwise_jaccard,
    pairwise_cohen,
    percent_agreement,
    presence_units,
    span_pair_counts,
)

LABELS = ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]


def _units_from_matrix(rows: list[list]) -> dict:
    """Reliability data (coders × units, None = missing) → {unit: {coder: value}}."""
    units: dict = {}
    for coder, row in enumerate(rows):
        for unit, value in enumerate(row):
            if value is not None:
                units.setdefault(unit, {})[coder] = value
    return units


def _to_reference(rows: list[list], categories: list) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    return np.array([[np.nan if v is None else index[v] for v in row] for row in rows], dtype=float)


def _random_rows(rng: random.Random, coders: int, units: int, categories: list, missing: float) -> list[list]:
    # Annotators agree with a latent "true" label more often than chance, so alpha is far from 0.
    truth = [rng.choice(categories) for _ in range(units)]
    rows = []
    for _ in range(coders):
        row = []
        for u in range(units):
            if rng.random() < missing:
                row.append(None)
            else:
                row.append(truth[u] if rng.random() < 0.6 else rng.choice(categories))
        rows.append(row)
    return rows


# --- Krippendorff's alpha -------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, missing values. Published: nominal 0.743, ordinal 0.815.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_alpha_krippendorff_2011_worked_example_nominal():
    m = krippendorff_alpha(_units_from_matrix(K2011))
    assert round(m.value, 3) == 0.743
    assert m.items == 11  # unit 12 has a single value and is not pairable


def test_alpha_krippendorff_2011_worked_example_ordinal():
    m = krippendorff_alpha(_units_from_matrix(K2011), level="ordinal", categories=[1, 2, 3, 4, 5])
    assert round(m.value, 3) == 0.815


def test_alpha_krippendorff_2011_binary_two_observers():
    # Section A of the same paper: 2 observers, 10 units, binary data; alpha = 0.095.
    rows = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    assert round(krippendorff_alpha(_units_from_matrix(rows)).value, 3) == 0.095


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_alpha_matches_krippendorff_package_on_random_data_with_missing_values(seed, level):
    rng = random.Random(seed)
    rows = _random_rows(rng, coders=rng.randint(2, 6), units=rng.randint(5, 80), categories=LABELS, missing=0.3)
    ours = krippendorff_alpha(_units_from_matrix(rows), level=level, categories=LABELS)
    ref = krippendorff.alpha(reliability_data=_to_reference(rows, LABELS), level_of_measurement=level,
                             value_domain=list(range(len(LABELS))))
    if math.isnan(ref):
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)


def test_alpha_ordinal_penalises_distant_disagreements_more_than_nominal():
    # Same number of disagreements, but all between neighbouring ranks: ordinal alpha is higher.
    rows = [[1, 2, 3, 4, 5, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 2, 3, 4, 5, 4]]
    units = _units_from_matrix(rows)
    assert krippendorff_alpha(units, level="ordinal", categories=[1, 2, 3, 4, 5]).value > \
        krippendorff_alpha(units).value


def test_alpha_one_category_only_is_none_with_reason_not_nan():
    m = krippendorff_alpha({1: {"a": "FAVOR", "b": "FAVOR"}, 2: {"a": "FAVOR", "b": "FAVOR"}})
    assert m.value is None and "same category" in m.reason
    assert json.dumps(m.as_dict())  # serialisable, no NaN


def test_alpha_no_pairable_unit_is_none():
    m = krippendorff_alpha({1: {"a": "FAVOR"}, 2: {"b": "AGAINST", "c": None}})
    assert m.value is None and m.items == 0 and "two or more" in m.reason


def test_alpha_perfect_agreement_is_one():
    units = {1: {"a": "FAVOR", "b": "FAVOR"}, 2: {"a": "AGAINST", "b": "AGAINST", "c": "AGAINST"}}
    assert krippendorff_alpha(units).value == pytest.approx(1.0)


def test_alpha_ordinal_requires_categories():
    with pytest.raises(ValueError):
        krippendorff_alpha({1: {"a": 1, "b": 2}}, level="ordinal")


# --- Fleiss' kappa --------------------------------------------------------------------------

# Fleiss' kappa, Wikipedia's worked example: 10 subjects, 14 raters, 5 categories; kappa = 0.210.
WIKI_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def _units_from_table(table) -> dict:
    units = {}
    for i, row in enumerate(table):
        coder = 0
        units[i] = {}
        for category, count in enumerate(row):
            for _ in range(count):
                units[i][coder] = category
                coder += 1
    return units


def test_fleiss_textbook_example():
    assert round(fleiss_kappa(_units_from_table(WIKI_FLEISS)).value, 3) == 0.210


@pytest.mark.parametrize("seed", range(8))
def test_fleiss_matches_statsmodels_on_random_complete_data(seed):
    rng = random.Random(100 + seed)
    raters, n_units = rng.randint(2, 7), rng.randint(3, 60)
    rows = _random_rows(rng, coders=raters, units=n_units, categories=LABELS, missing=0.0)
    table = [[sum(1 for r in rows if r[u] == c) for c in LABELS] for u in range(n_units)]
    ref = sm_fleiss_kappa(np.array(table))
    ours = fleiss_kappa(_units_from_matrix(rows))
    if math.isnan(ref):
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)


def test_fleiss_with_varying_raters_uses_each_items_own_raters():
    # Item 1: 3 raters agree (P=1); item 2: 2 raters disagree (P=0). Pooled p = 4/5 A, 1/5 B.
    units = {1: {"a": "A", "b": "A", "c": "A"}, 2: {"a": "A", "b": "B"}}
    p_bar, p_e = 0.5, (4 / 5) ** 2 + (1 / 5) ** 2
    assert fleiss_kappa(units).value == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_fleiss_single_category_is_none():
    m = fleiss_kappa({1: {"a": "A", "b": "A"}, 2: {"a": "A", "c": "A"}})
    assert m.value is None and m.reason


# --- Cohen's kappa --------------------------------------------------------------------------


def test_cohen_textbook_table():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → p_o = 0.7, p_e = 0.5, kappa = 0.4.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs).value == pytest.approx(0.4)


@pytest.mark.parametrize("seed", range(10))
def test_cohen_matches_sklearn_on_random_data(seed):
    rng = random.Random(200 + seed)
    rows = _random_rows(rng, coders=2, units=rng.randint(2, 100), categories=LABELS, missing=0.0)
    ref = cohen_kappa_score(rows[0], rows[1])
    ours = cohen_kappa(list(zip(rows[0], rows[1], strict=True)))
    if math.isnan(ref):
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)


def test_cohen_same_single_category_is_none_where_sklearn_gives_nan():
    pairs = [("FAVOR", "FAVOR")] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(cohen_kappa_score(*zip(*pairs, strict=True)))
    m = cohen_kappa(pairs)
    assert m.value is None and m.items == 5 and m.reason


def test_pairwise_cohen_uses_only_units_both_labelled():
    rng = random.Random(7)
    rows = _random_rows(rng, coders=3, units=60, categories=LABELS, missing=0.35)
    pairs = {(p.a, p.b): p.metric for p in pairwise_cohen(_units_from_matrix(rows))}
    assert set(pairs) == {(0, 1), (0, 2), (1, 2)}
    for (a, b), metric in pairs.items():
        shared = [(x, y) for x, y in zip(rows[a], rows[b], strict=True) if x is not None and y is not None]
        assert metric.items == len(shared)
        assert metric.value == pytest.approx(cohen_kappa_score(*zip(*shared, strict=True)))


def test_percent_agreement():
    units = {1: {"a": "A", "b": "A"}, 2: {"a": "A", "b": "B"}, 3: {"a": "A", "b": "A", "c": "B"}}
    # unit 3: ordered pairs agreeing 2 of 6.
    assert percent_agreement(units).value == pytest.approx((1 + 0 + 1 / 3) / 3)


# --- frames: Jaccard and presence alpha -----------------------------------------------------


def test_jaccard_edge_cases():
    assert jaccard(set(), set()) == 1.0
    assert jaccard({"a"}, set()) == 0.0
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_mean_pairwise_jaccard_matches_sklearn_samples_average(seed):
    rng = random.Random(300 + seed)
    frames = [f"F{i}" for i in range(6)]
    n = rng.randint(2, 40)
    sets_a = [set(rng.sample(frames, rng.randint(0, 3))) for _ in range(n)]
    sets_b = [set(rng.sample(frames, rng.randint(0, 3))) for _ in range(n)]
    binarise = lambda sets: np.array([[int(f in s) for f in frames] for s in sets])  # noqa: E731
    ref = jaccard_score(binarise(sets_a), binarise(sets_b), average="samples", zero_division=1.0)
    units = {i: {"a": sets_a[i], "b": sets_b[i]} for i in range(n)}
    assert mean_pairwise_jaccard(units).value == pytest.approx(ref)


def test_mean_pairwise_jaccard_averages_pairs_within_an_article_first():
    units = {1: {"a": {"x"}, "b": {"x"}, "c": set()}, 2: {"a": {"x"}, "b": {"y"}}, 3: {"a": {"x"}}}
    m = mean_pairwise_jaccard(units)
    assert m.items == 2  # the one-annotator article is excluded
    assert m.value == pytest.approx(((1 + 0 + 0) / 3 + 0) / 2)


@pytest.mark.parametrize("seed", range(4))
def test_frame_presence_alpha_matches_krippendorff_package(seed):
    rng = random.Random(400 + seed)
    coders, n = 3, 30
    sets = {u: {c: set(rng.sample(["X", "Y", "Z"], rng.randint(0, 2))) for c in range(coders)
                if rng.random() > 0.2} for u in range(n)}
    presence = presence_units(sets, "X")
    data = np.array([[presence[u].get(c, np.nan) for u in range(n)] for c in range(coders)], dtype=float)
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1])
    assert krippendorff_alpha(presence, categories=[0, 1]).value == pytest.approx(ref)


def test_frame_never_chosen_gives_defined_null():
    presence = presence_units({1: {"a": {"Y"}, "b": set()}, 2: {"a": set(), "b": set()}}, "X")
    m = krippendorff_alpha(presence, categories=[0, 1])
    assert m.value is None and m.reason


# --- spans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_span_exact_f1_matches_sklearn_binary_f1(seed):
    rng = random.Random(500 + seed)
    universe = [(s, s + rng.randint(1, 5), rng.choice(["PERSON", "ORG"])) for s in range(0, 200, 3)]
    a = set(rng.sample(universe, 20))
    b = set(rng.sample(universe, 25))
    both = sorted(a | b)
    ref = f1_score([int(x in b) for x in both], [int(x in a) for x in both])
    counts = SpanCounts()
    counts.add(a, b)
    assert counts.exact_f1().value == pytest.approx(ref)


def test_span_overlap_f1_hand_computed():
    a = [(0, 10, "PERSON"), (20, 30, "PERSON"), (40, 45, "ORG")]
    b = [(5, 12, "PERSON"), (40, 45, "PERSON"), (60, 70, "PERSON")]
    per_label = span_pair_counts(a, b)
    person = per_label["PERSON"]
    # PERSON: a has 2, 1 overlaps (0-10 with 5-12) → P = 1/2; b has 3, 1 overlapped → R = 1/3.
    assert person.overlap_f1().value == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert person.exact_f1().value == 0.0
    # ORG only on one side: F1 0, not undefined; a label nobody used is absent.
    assert per_label["ORG"].overlap_f1().value == 0.0
    assert "QUOTE" not in per_label


def test_span_no_spans_either_side_is_none():
    m = SpanCounts().exact_f1()
    assert m.value is None and m.reason
