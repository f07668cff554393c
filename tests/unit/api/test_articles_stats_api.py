"""Articles (list, filter, search, upload) and project stats."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Article, Assignment
from tests.factories import AnnotationFactory, ArticleFactory, AssignmentFactory, GoldFactory
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


def test_filter_search_order_and_paginate():
    w = make_world(articles=0)
    p = w.project
    a = ArticleFactory(project=p, source="Reuters", title="Troops", published=dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    b = ArticleFactory(project=p, source="AP", title="Sanctions", text="Sanctions on oil.", priority=5)
    c = ArticleFactory(project=p, source="Reuters", title="Other", published=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    GoldFactory(article=c)
    client = w.client("exporter")
    base = f"/api/v1/projects/{p.pk}/articles/"
    assert ids(client.get(base)) == [a.pk, b.pk, c.pk]
    assert ids(client.get(base, {"source": "Reuters"})) == [a.pk, c.pk]
    assert ids(client.get(base, {"search": "oil"})) == [b.pk]
    assert ids(client.get(base, {"published_after": "2024-04-01T00:00:00Z"})) == [c.pk]
    # Offsets Python accepts but PostgreSQL does not (beyond ±15:59) are compared in UTC: 2024-04-01
    # 20:41 at -20:41 is 2024-04-02 17:22 UTC, after a and before c.
    assert ids(client.get(base, {"published_after": "2024-04-01T20:41:00-20:41"})) == [c.pk]
    assert ids(client.get(base, {"published_before": "2024-04-01T20:41:00-20:41"})) == [a.pk]
    assert ids(client.get(base, {"has_gold": "true"})) == [c.pk]
    assert ids(client.get(base, {"ordering": "-priority"}))[0] == b.pk
    page = client.get(base, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    assert ids(client.get(page["next"])) == [c.pk]
    assert "text" not in page["results"][0]
    assert client.get(f"{base}{a.pk}/").json()["text"] == a.text


def _submitted(article, user, stance):
    assignment = AssignmentFactory(article=article, annotator=user, status=Assignment.Status.SUBMITTED)
    AnnotationFactory(assignment=assignment, stance=stance)


def test_status_and_disagreement_filter_the_whole_project_not_one_page():
    w = make_world(articles=0, overlap=2)
    p, one, two = w.project, w.users["annotator"], w.users["annotator2"]
    untouched, partial, agreed, disagreed = (ArticleFactory(project=p) for _ in range(4))
    _submitted(partial, one, {"western-troops": "AGAINST"})
    for article, second in ((agreed, "AGAINST"), (disagreed, "FAVOR")):
        _submitted(article, one, {"western-troops": "AGAINST"})
        _submitted(article, two, {"western-troops": second})
    # An open assignment's draft is not a submission: it neither counts nor disagrees.
    AnnotationFactory(assignment=AssignmentFactory(article=untouched, annotator=two), stance={"western-troops": "FAVOR"})
    client = w.client("reviewer")
    base = f"/api/v1/projects/{p.pk}/articles/"
    assert ids(client.get(base, {"status": "untouched"})) == [untouched.pk]
    assert ids(client.get(base, {"status": "partial"})) == [partial.pk]
    assert ids(client.get(base, {"status": "complete"})) == [agreed.pk, disagreed.pk]
    assert ids(client.get(base, {"disagreement": "true"})) == [disagreed.pk]
    assert ids(client.get(base, {"disagreement": "false"})) == [untouched.pk, partial.pk, agreed.pk]
    assert ids(client.get(base, {"status": "complete", "disagreement": "false"})) == [agreed.pk]
    # Filters reach past the first page: the disagreeing article is the last one, the page holds one.
    page = client.get(base, {"disagreement": "true", "page_size": 1}).json()
    assert [a["id"] for a in page["results"]] == [disagreed.pk] and page["results"][0]["disagreement"] is True
    rows = {a["id"]: a for a in client.get(base).json()["results"]}
    assert [pk for pk, a in rows.items() if a["disagreement"]] == [disagreed.pk]
    assert rows[agreed.pk]["assignments_submitted"] == 2 and rows[untouched.pk]["assignments_submitted"] == 0
    # Each row carries its status by the same rule as the filter (the browser shows it as it is).
    assert {pk: a["annotation_status"] for pk, a in rows.items()} == {
        untouched.pk: "untouched", partial.pk: "partial", agreed.pk: "complete", disagreed.pk: "complete"}
    bad = client.get(base, {"status": "done"})
    assert bad.status_code == 400 and "status" in bad.content.decode()
    for field in ("disagreement", "has_gold"):  # not silently "no filter"
        bad = client.get(base, {field: "maybe"})
        assert bad.status_code == 400 and field in bad.json()["error"]["details"], bad.content


def test_upload_imports_and_reports():
    w = make_world(articles=0)
    url = f"/api/v1/projects/{w.project.pk}/articles/import/"
    body = b'{"id": "n1", "text": "First."}\n{"id": "n2", "text": "Second.", "source": "AP"}\n'
    r = w.client("admin").post(url, {"file": SimpleUploadedFile("a.jsonl", body)}, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["created"] == 2
    assert set(Article.objects.filter(project=w.project).values_list("external_id", flat=True)) == {"n1", "n2"}


def test_upload_with_a_bad_line_imports_nothing_and_reports_the_line():
    w = make_world(articles=0)
    url = f"/api/v1/projects/{w.project.pk}/articles/import/"
    body = b'{"id": "n1", "text": "First."}\n{"id": "n2"}\n'
    r = w.client("admin").post(url, {"file": SimpleUploadedFile("a.jsonl", body)}, format="multipart")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "import_rejected" and err["details"]["errors"][0]["line"] == 2
    assert not Article.objects.filter(project=w.project).exists()


def test_stats_progress_per_annotator_and_distributions():
    w = make_world(articles=2, overlap=1)
    w.articles[0].source = "Reuters"
    w.articles[0].save()
    done = {"stance": {"western-troops": "AGAINST", "sanctions": "FAVOR"}, "frames": ["Political"],
            "primary_frame": "Political"}
    for who in ("annotator", "annotator2"):
        c = w.client(who)
        t = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
        c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": 1, **done}, format="json")
        if who == "annotator":
            assert c.post(f"/api/v1/assignments/{t['id']}/submit/", {"version": 2}, format="json").status_code == 200
    s = w.client("reviewer").get(f"/api/v1/projects/{w.project.pk}/stats/").json()
    assert s["articles"] == 2
    assert s["assignments"] == {"assigned": 0, "in_progress": 1, "submitted": 1, "skipped": 0}
    assert s["articles_by_progress"] == {"complete": 1, "partial": 1, "untouched": 0}
    by_user = {a["username"]: (a["submitted"], a["in_progress"]) for a in s["annotators"]}
    assert by_user == {"annotator-user": (1, 0), "annotator2-user": (0, 1)}
    assert s["stance"] == {"sanctions": {"FAVOR": 1}, "western-troops": {"AGAINST": 1}}  # submitted only
    assert s["stance_by_source"] == {"Reuters": {"sanctions": {"FAVOR": 1}, "western-troops": {"AGAINST": 1}}}
    assert s["frames"] == {"Political": 1}


def test_a_broken_upload_body_gets_a_documented_answer():
    """schemathesis sent a body without a media type: DRF answers 415, which the schema must list
    (it did not: the contract test failed on it now and then)."""
    w = make_world(articles=0)
    client = w.client("admin")
    r = client.generic("POST", f"/api/v1/projects/{w.project.pk}/articles/import/", b"x", content_type="")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    documented = schema["paths"]["/api/v1/projects/{project_id}/articles/import/"]["post"]["responses"]
    assert str(r.status_code) in documented
