"""Adjudication endpoints: queue, side by side, decide, undo, bulk unanimous, majority."""

from __future__ import annotations

import pytest

from annotate.models import Gold, Membership
from tests.factories import (
    ArticleFactory,
    MembershipFactory,
    ProjectFactory,
    TargetFactory,
    UserFactory,
    api_client,
)
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    p = ProjectFactory(overlap=2)
    TargetFactory(project=p, key="troops")
    return p


@pytest.fixture
def reviewer(project):
    return MembershipFactory(project=project, role=Membership.Role.REVIEWER, user__username="rita").user


@pytest.fixture
def disputed(project):
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    article = ArticleFactory(project=project)
    a = submit(article, ana, {"troops": "FAVOR"}, frames=["Economic"], primary="Economic", spans=[(0, 14, "PERSON")])
    b = submit(article, ben, {"troops": "AGAINST"}, frames=["Economic"], primary="Economic")
    return article, a, b


def _urls(project, article) -> dict[str, tuple[str, str]]:
    base = f"/api/v1/projects/{project.pk}/adjudication/"
    return {
        "queue": ("get", base),
        "article": ("get", f"{base}articles/{article.pk}/"),
        "decide": ("post", f"{base}articles/{article.pk}/decide/"),
        "undo": ("delete", f"{base}articles/{article.pk}/gold/"),
        "unanimous": ("post", f"{base}accept-unanimous/"),
        "majority": ("post", f"{base}majority/"),
    }


@pytest.mark.parametrize("endpoint", ["queue", "article", "decide", "undo", "unanimous", "majority"])
@pytest.mark.parametrize(("role", "allowed"), [
    (Membership.Role.ADMIN, True), (Membership.Role.REVIEWER, True),
    (Membership.Role.ANNOTATOR, False), (Membership.Role.EXPORTER, False), (None, False),
])
def test_role_matrix(project, disputed, endpoint, role, allowed):
    user = MembershipFactory(project=project, role=role).user if role else UserFactory()
    method, url = _urls(project, disputed[0])[endpoint]
    body = {"method": "pick", "annotation": disputed[1].pk} if endpoint == "decide" else {}
    response = getattr(api_client(user), method)(url, body, format="json")
    if allowed:
        assert response.status_code in (200, 204)
    else:
        assert response.status_code == (404 if role is None else 403)


def test_anonymous_is_401(project, disputed):
    assert api_client().get(_urls(project, disputed[0])["queue"][1]).status_code == 401


def test_article_of_another_project_is_404(project, reviewer):
    elsewhere = ArticleFactory()
    response = api_client(reviewer).get(f"/api/v1/projects/{project.pk}/adjudication/articles/{elsewhere.pk}/")
    assert response.status_code == 404


def test_reviewer_flow_queue_side_by_side_pick(project, reviewer, disputed):
    article, a, b = disputed
    client = api_client(reviewer)
    queue = client.get(f"/api/v1/projects/{project.pk}/adjudication/").json()
    assert queue["count"] == 1
    [item] = queue["results"]
    assert item["article_id"] == article.pk and item["disagreements"] == ["stance:troops", "spans"]

    view = client.get(f"/api/v1/projects/{project.pk}/adjudication/articles/{article.pk}/").json()
    assert {x["annotator"]["username"]: x["stance"]["troops"] for x in view["annotations"]} == {
        "ana": "FAVOR", "ben": "AGAINST"}
    assert view["gold"] is None

    response = client.post(f"/api/v1/projects/{project.pk}/adjudication/articles/{article.pk}/decide/",
                           {"method": "pick", "annotation": a.pk, "notes": "quote is supportive"}, format="json")
    assert response.status_code == 200
    gold = response.json()
    assert (gold["method"], gold["decided_by"], gold["stance"]) == ("adjudicated", "rita", {"troops": "FAVOR"})
    assert [s["text"] for s in gold["spans"]] == [article.text[0:14]]
    assert client.get(f"/api/v1/projects/{project.pk}/adjudication/").json()["count"] == 0
    decided = client.get(f"/api/v1/projects/{project.pk}/adjudication/?state=decided").json()["results"]
    assert decided[0]["gold"]["decided_by"] == "rita"


def test_edit_errors_name_the_field(project, reviewer, disputed):
    article = disputed[0]
    response = api_client(reviewer).post(
        f"/api/v1/projects/{project.pk}/adjudication/articles/{article.pk}/decide/",
        {"method": "edit", "stance": {"troops": "MAYBE"}, "frames": ["Economic"],
         "spans": [{"start": 3, "end": 99999, "label": "PERSON"}]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["details"]) == {"stance.troops", "spans[0].end"}
    assert not Gold.objects.exists()


@pytest.mark.parametrize("body", [
    {"method": "pick"}, {"method": "edit", "frames": []}, {"method": "vote"},
    {"method": "pick", "annotation": 2**63},
])
def test_decide_rejects_malformed_bodies(project, reviewer, disputed, body):
    response = api_client(reviewer).post(
        f"/api/v1/projects/{project.pk}/adjudication/articles/{disputed[0].pk}/decide/", body, format="json")
    assert response.status_code == 400


def test_merge_and_undo(project, reviewer, disputed):
    article, a, b = disputed
    client = api_client(reviewer)
    url = f"/api/v1/projects/{project.pk}/adjudication/articles/{article.pk}/"
    span_id = a.spans.get().pk
    gold = client.post(url + "decide/", {"method": "merge", "stance_from": {"troops": b.pk}, "span_ids": [span_id]},
                       format="json").json()
    assert gold["stance"] == {"troops": "AGAINST"} and len(gold["spans"]) == 1
    assert gold["frames"] == ["Economic"]  # unanimous part from the majority
    assert client.delete(url + "gold/").status_code == 204
    assert client.get(url).json()["gold"] is None


def test_bulk_unanimous_and_majority(project, reviewer, disputed):
    ana, ben, carol = UserFactory(), UserFactory(), UserFactory()
    same = ArticleFactory(project=project)
    for user in (ana, ben):
        submit(same, user, {"troops": "NEUTRAL"}, frames=["Morality"], primary="Morality")
    client = api_client(reviewer)
    base = f"/api/v1/projects/{project.pk}/adjudication/"
    assert client.get(base + "?state=unanimous").json()["count"] == 1
    result = client.post(base + "accept-unanimous/", {}, format="json").json()
    assert result == {"accepted": 1, "not_unanimous": 1, "article_ids": [same.pk]}
    three = ArticleFactory(project=project)
    for user, label in ((ana, "FAVOR"), (ben, "FAVOR"), (carol, "AGAINST")):
        submit(three, user, {"troops": label})
    counts = client.post(base + "majority/").json()
    assert counts["created"] == 2
    assert Gold.objects.get(article=three).stance == {"troops": "FAVOR"}
    tie = Gold.objects.get(article=disputed[0])  # 1:1 on stance: left out; frames agreed
    assert (tie.method, tie.stance, tie.frames) == (Gold.Method.MAJORITY, {}, ["Economic"])
    assert Gold.objects.get(article=same).method == Gold.Method.UNANIMOUS


def test_unknown_queue_state_is_400(project, reviewer):
    response = api_client(reviewer).get(f"/api/v1/projects/{project.pk}/adjudication/?state=weird")
    assert response.status_code == 400


def test_queue_query_count_is_flat(project, reviewer, django_assert_max_num_queries):
    for _ in range(15):
        article = ArticleFactory(project=project)
        submit(article, UserFactory(), {"troops": "FAVOR"})
        submit(article, UserFactory(), {"troops": "AGAINST"})
    client = api_client(reviewer)
    with django_assert_max_num_queries(10):
        assert client.get(f"/api/v1/projects/{project.pk}/adjudication/").json()["count"] == 15


def test_reviewer_edits_gold_of_a_single_annotation_article_over_rest(project, reviewer):
    from annotate.models import AuditEvent, Span

    article = ArticleFactory(project=project)
    ann = submit(article, UserFactory(username="solo"), {"troops": "FAVOR"}, frames=["Economic"],
                 primary="Economic", spans=[(0, 14, "PERSON")])
    client = api_client(reviewer)
    base = f"/api/v1/projects/{project.pk}/adjudication/"
    few = client.get(base + "?state=few").json()
    assert [(i["article_id"], i["submitted"]) for i in few["results"]] == [(article.pk, 1)]
    view = client.get(f"{base}articles/{article.pk}/").json()
    assert view["gold"] is None and len(view["annotations"]) == 1

    spans_url = f"{base}articles/{article.pk}/gold/spans/"
    quote = (article.text.index("“"), article.text.index("”") + 1)
    r = client.post(spans_url, {"start": quote[0], "end": quote[1], "label": "QUOTE", "kind": "direct",
                                "version": 0}, format="json")
    assert r.status_code == 201, r.content
    gold = r.json()
    assert (gold["method"], gold["version"], gold["decided_by"]) == ("adjudicated", 1, "rita")
    q = next(s for s in gold["spans"] if s["label"] == "QUOTE")
    assert q["provenance"] == {"from": "adjudicator"} and q["attrs"] == {"kind": "direct"}

    r = client.patch(f"{spans_url}{q['id']}/", {"speaker": "Vladimir Putin", "speaker_span": {"start": 0, "end": 14},
                                               "start": quote[0] + 1, "version": 1}, format="json")
    assert r.status_code == 200, r.content
    q2 = next(s for s in r.json()["spans"] if s["id"] == q["id"])
    assert (q2["start"], q2["attrs"]["speaker"], r.json()["version"]) == (quote[0] + 1, "Vladimir Putin", 2)

    # Bad input: a clear 4xx naming the field, nothing written.
    before = (Span.objects.filter(gold__isnull=False).count(), AuditEvent.objects.count())
    r = client.post(spans_url, {"start": 3, "end": 4120, "label": "PERSON", "version": 2}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == f"span.end: 4120 is past the end of the text ({len(article.text)})"
    r = client.patch(f"{spans_url}{q['id']}/", {"end": 2, "version": 1}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_write"
    assert r.json()["error"]["details"]["current"]["version"] == 2
    r = client.post(f"{base}articles/{article.pk}/decide/", {"method": "edit", "stance": {}, "frames": [], "spans": [
        {"start": 0, "end": 99999, "label": "PERSON"}]}, format="json")
    assert r.status_code == 400 and "spans[0].end" in r.json()["error"]["details"]
    assert (Span.objects.filter(gold__isnull=False).count(), AuditEvent.objects.count()) == before

    r = client.delete(f"{spans_url}{q['id']}/?version=2")
    assert r.status_code == 200 and [s["label"] for s in r.json()["spans"]] == ["PERSON"]
    assert client.delete(f"{base}articles/{article.pk}/gold/?version=3").status_code == 204
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "gold.create", "gold.update", "gold.update", "gold.delete"]
    assert ann.spans.count() == 1


def test_the_schema_documents_the_gold_span_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    spans = next(v for k, v in paths.items() if k.endswith("/gold/spans/"))
    span = next(v for k, v in paths.items() if k.endswith("/gold/spans/{span_id}/"))
    assert set(spans) >= {"post"} and set(span) >= {"patch", "delete"}
    assert "Who may call" in span["patch"]["description"]
