"""The project agreement report: gathers the right annotations and matches the references."""

from __future__ import annotations

import json
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotate.agreement import agreement_report
from annotate.models import Assignment, Gold
from tests.factories import (
    ArticleFactory,
    GoldFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
)
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db
LABELS = ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]


@pytest.fixture
def project():
    p = ProjectFactory()
    TargetFactory(project=p, key="troops", position=0)
    TargetFactory(project=p, key="sanctions", position=1)
    return p


def test_report_matches_reference_libraries_on_random_project(project):
    rng = random.Random(42)
    users = [UserFactory() for _ in range(3)]
    matrix = {u.pk: [] for u in users}  # troops labels per article, NaN when not annotated
    for _ in range(30):
        article = ArticleFactory(project=project)
        for user in users:
            if rng.random() < 0.75:
                label = rng.choice(LABELS[:2]) if rng.random() < 0.5 else "FAVOR"
                submit(article, user, {"troops": label, "sanctions": rng.choice(LABELS)},
                       frames=["Economic"], primary="Economic")
                matrix[user.pk].append(LABELS.index(label))
            else:
                matrix[user.pk].append(np.nan)
    report = agreement_report(project=project).as_dict()
    troops = next(t for t in report["stance"] if t["target"] == "troops")
    data = np.array([matrix[u.pk] for u in users], dtype=float)
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1, 2, 3])
    assert troops["alpha"]["value"] == pytest.approx(ref, abs=1e-6)
    assert troops["level"] == "nominal"
    pair = troops["cohen_kappa_pairs"][0]
    a, b = data[[u.pk for u in users].index(pair["a"])], data[[u.pk for u in users].index(pair["b"])]
    both = ~np.isnan(a) & ~np.isnan(b)
    assert pair["kappa"]["items"] == both.sum()
    assert pair["kappa"]["value"] == pytest.approx(cohen_kappa_score(a[both], b[both]), abs=1e-6)
    # Everyone chose "Economic" on every article: a defined null, and the file is valid JSON.
    economic = next(f for f in report["frames"]["per_frame"] if f["frame"] == "Economic")
    assert economic["alpha"]["value"] is None and economic["alpha"]["reason"]
    assert report["frames"]["mean_jaccard"]["value"] == 1.0
    json.dumps(report, default=str, allow_nan=False)


def test_single_annotator_articles_are_excluded_and_counted(project):
    ann_a, ann_b = UserFactory(), UserFactory()
    shared = ArticleFactory(project=project)
    submit(shared, ann_a, {"troops": "FAVOR"})
    submit(shared, ann_b, {"troops": "AGAINST"})
    alone = ArticleFactory(project=project)
    submit(alone, ann_a, {"troops": "FAVOR"})
    ArticleFactory(project=project)  # nobody annotated it
    articles = agreement_report(project=project).as_dict()["articles"]
    assert articles == {"total": 3, "with_submissions": 2, "compared": 1, "single_annotator_excluded": 1}


def test_drafts_and_skipped_assignments_are_not_compared(project):
    ann_a, ann_b, ann_c = UserFactory(), UserFactory(), UserFactory()
    article = ArticleFactory(project=project)
    submit(article, ann_a, {"troops": "FAVOR"})
    submit(article, ann_b, {"troops": "AGAINST"}, status=Assignment.Status.IN_PROGRESS)
    submit(article, ann_c, {"troops": "AGAINST"}, status=Assignment.Status.SKIPPED)
    report = agreement_report(project=project).as_dict()
    assert report["articles"]["compared"] == 0
    assert report["stance"][0]["alpha"] == {"value": None, "items": 0,
                                            "reason": "no item was labelled by two or more annotators"}


def test_ordered_schema_uses_ordinal_alpha(project):
    project.label_schema = {**project.label_schema, "stance_labels": ["AGAINST", "NEUTRAL", "FAVOR"],
                            "stance_ordered": True}
    project.save()
    users = [UserFactory(), UserFactory()]
    pairs = [("AGAINST", "AGAINST"), ("FAVOR", "FAVOR"), ("NEUTRAL", "FAVOR"), ("AGAINST", "NEUTRAL"),
             ("FAVOR", "FAVOR"), ("AGAINST", "AGAINST")]
    for x, y in pairs:
        article = ArticleFactory(project=project)
        submit(article, users[0], {"troops": x})
        submit(article, users[1], {"troops": y})
    troops = agreement_report(project=project).as_dict()["stance"][0]
    rank = {"AGAINST": 0, "NEUTRAL": 1, "FAVOR": 2}
    data = np.array([[rank[x] for x, _ in pairs], [rank[y] for _, y in pairs]], dtype=float)
    assert troops["level"] == "ordinal"
    assert troops["alpha"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal", value_domain=[0, 1, 2]), abs=1e-6)
    assert troops["alpha_nominal"]["value"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1, 2]), abs=1e-6)


def test_span_f1_per_label_and_annotators_against_gold(project):
    ann_a, ann_b = UserFactory(), UserFactory()
    article = ArticleFactory(project=project)
    submit(article, ann_a, {"troops": "FAVOR"}, frames=["Economic"], spans=[(0, 14, "PERSON"), (20, 30, "ORG")])
    submit(article, ann_b, {"troops": "AGAINST"}, frames=["Economic", "Political"],
           spans=[(0, 14, "PERSON"), (22, 30, "ORG")])
    gold = GoldFactory(article=article, stance={"troops": "FAVOR"}, frames=["Economic"], method=Gold.Method.ADJUDICATED)
    SpanFactory(article=article, gold=gold, start=0, end=14, label="PERSON")
    report = agreement_report(project=project).as_dict()
    labels = {row["label"]: row for row in report["spans"]["per_label"]}
    assert labels["PERSON"]["exact_f1"]["value"] == 1.0
    assert labels["ORG"]["exact_f1"]["value"] == 0.0
    assert labels["ORG"]["overlap_f1"]["value"] == 1.0
    assert report["frames"]["mean_jaccard"]["value"] == pytest.approx(0.5)
    vs_gold = {row["annotator"]: row for row in report["vs_gold"]}
    assert vs_gold[ann_a.pk]["stance"]["troops"]["accuracy"]["value"] == 1.0
    assert vs_gold[ann_b.pk]["stance"]["troops"]["accuracy"]["value"] == 0.0
    assert vs_gold[ann_b.pk]["frames_jaccard"]["value"] == pytest.approx(0.5)
    # a: PERSON matches, ORG does not → P = 1/2, R = 1/1 → F1 = 2/3.
    assert vs_gold[ann_a.pk]["spans_exact_f1"]["value"] == pytest.approx(2 / 3)


def test_report_query_count_does_not_grow_with_articles(project, django_assert_max_num_queries):
    users = [UserFactory(), UserFactory()]
    for i in range(20):
        article = ArticleFactory(project=project)
        for user in users:
            submit(article, user, {"troops": LABELS[i % 3]}, spans=[(0, 5, "PERSON")])
    with django_assert_max_num_queries(12):
        agreement_report(project=project)
