"""GET /api/v1/projects/{id}/agreement/: who may read it, and what it answers."""

from __future__ import annotations

import json

import pytest

from annotate.models import Membership
from tests.factories import (
    ArticleFactory,
    ProjectFactory,
    TargetFactory,
    UserFactory,
    api_client,
    member,
)
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    p = ProjectFactory()
    TargetFactory(project=p, key="troops")
    return p


@pytest.mark.parametrize(("role", "expected"), [
    (Membership.Role.ADMIN, 200), (Membership.Role.REVIEWER, 200),
    (Membership.Role.ANNOTATOR, 403), (Membership.Role.EXPORTER, 403), (None, 404),
])
def test_agreement_role_matrix(project, role, expected):
    user = member(project, role) if role else UserFactory()
    response = api_client(user).get(f"/api/v1/projects/{project.pk}/agreement/")
    assert response.status_code == expected
    if expected != 200:
        assert "error" in response.json()


def test_agreement_needs_authentication(project):
    assert api_client().get(f"/api/v1/projects/{project.pk}/agreement/").status_code == 401


def test_agreement_figures_and_defined_nulls_in_strict_json(project):
    reviewer = member(project, Membership.Role.REVIEWER)
    a, b = UserFactory(), UserFactory()
    pairs = [("FAVOR", "FAVOR"), ("AGAINST", "AGAINST"), ("FAVOR", "AGAINST"), ("NEUTRAL", "NEUTRAL")]
    for x, y in pairs:
        article = ArticleFactory(project=project)
        submit(article, a, {"troops": x}, frames=["Economic"], primary="Economic")
        submit(article, b, {"troops": y}, frames=["Economic"], primary="Economic")
    submit(ArticleFactory(project=project), a, {"troops": "FAVOR"})
    response = api_client(reviewer).get(f"/api/v1/projects/{project.pk}/agreement/")
    assert response.status_code == 200
    body = json.loads(response.content, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert body["articles"]["single_annotator_excluded"] == 1
    troops = body["stance"][0]
    # Cohen's kappa by hand: p_o = 3/4; marginals a (2F,1A,1N) b (1F,2A,1N): p_e = (2+2+1)/16.
    p_o, p_e = 3 / 4, 5 / 16
    assert troops["cohen_kappa_mean"]["value"] == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-6)
    assert troops["alpha"]["value"] is not None
    economic = next(f for f in body["frames"]["per_frame"] if f["frame"] == "Economic")
    assert economic["alpha"]["value"] is None and economic["alpha"]["reason"]


def test_throughput_median_time_and_per_day_counts(project):
    from datetime import timedelta

    from django.utils import timezone

    from annotate.models import Assignment

    reviewer = member(project, Membership.Role.REVIEWER)
    ana = UserFactory(username="ana")
    for seconds in (30, 90, 600):
        ann = submit(ArticleFactory(project=project), ana, {"troops": "FAVOR"})
        Assignment.objects.filter(pk=ann.assignment_id).update(time_spent_seconds=seconds)
    old = submit(ArticleFactory(project=project), ana, {"troops": "FAVOR"})
    # No active time recorded: wall time from assignment to submission stands in (2 days ago, 120 s).
    when = timezone.now() - timedelta(days=2)
    Assignment.objects.filter(pk=old.assignment_id).update(
        time_spent_seconds=0, assigned_at=when - timedelta(seconds=120), submitted_at=when)
    body = api_client(reviewer).get(f"/api/v1/projects/{project.pk}/throughput/?days=7").json()
    assert len(body["days"]) == 7
    [row] = body["annotators"]
    assert row["username"] == "ana" and row["submitted"] == 4
    assert row["median_seconds"] == 105  # median of 30, 90, 120, 600
    assert row["per_day"][-1] == 3 and row["per_day"][-3] == 1


def test_throughput_is_for_reviewers_only(project):
    user = member(project, Membership.Role.ANNOTATOR)
    assert api_client(user).get(f"/api/v1/projects/{project.pk}/throughput/").status_code == 403
    reviewer = member(project, Membership.Role.REVIEWER)
    assert api_client(reviewer).get(f"/api/v1/projects/{project.pk}/throughput/?days=0").status_code == 400


def test_agreement_is_reused_until_annotations_or_gold_change(project, django_assert_max_num_queries):
    from annotate.models import Gold

    reviewer = member(project, Membership.Role.REVIEWER)
    a, b = UserFactory(), UserFactory()
    first = ArticleFactory(project=project)
    submit(first, a, {"troops": "FAVOR"})
    submit(first, b, {"troops": "AGAINST"})
    client, url = api_client(reviewer), f"/api/v1/projects/{project.pk}/agreement/"
    before = client.get(url).json()
    with django_assert_max_num_queries(8):  # auth + role + fingerprint, no report queries
        assert client.get(url).json() == before
    second = ArticleFactory(project=project)
    submit(second, a, {"troops": "FAVOR"})
    submit(second, b, {"troops": "FAVOR"})
    after = client.get(url).json()
    assert after["articles"]["compared"] == 2 and after != before
    Gold.objects.create(article=first, stance={"troops": "FAVOR"}, method=Gold.Method.ADJUDICATED)
    assert client.get(url).json()["vs_gold"] != []
