"""Issue 15: annotators correct themselves. "My work" lists their closed articles; they reopen
their own submission within the project's window through the reviewers' endpoint; a project can
refuse a submission with suggestions left unreviewed; identical suggestions are shown once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Assignment
from annotate.selectors.audit import audit_events_for
from tests.factories import ArticleFactory, SpanFactory
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db

COMPLETE = {"stance": {"western-troops": "FAVOR", "sanctions": "AGAINST"}, "frames": ["Economic"],
            "primary_frame": "Economic"}


def submit_next(w, c):
    t = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    doc = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": t["annotation"]["version"], **COMPLETE},
                format="json").json()
    r = c.post(f"/api/v1/assignments/{t['id']}/submit/", {"version": doc["version"]}, format="json")
    assert r.status_code == 200, r.content
    return t


def test_my_work_lists_own_submitted_and_skipped_newest_first_and_searches_title_and_external_id():
    w = make_world(articles=3)
    w.articles[0].title, w.articles[0].external_id = "Putin warns the West", "rt-001"
    w.articles[1].title, w.articles[1].external_id = "NATO ministers meet", "ap-77"
    for a in w.articles:
        a.save()
    c = w.client("annotator")
    first = submit_next(w, c)
    second = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    assert c.post(f"/api/v1/assignments/{second['id']}/skip/", {"reason": "Duplicate"}, format="json").status_code == 200
    c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/")  # open: not listed
    submit_next(w, w.client("annotator2"))  # someone else's: not listed

    items = c.get("/api/v1/me/work/").json()["results"]
    assert [(i["id"], i["status"]) for i in items] == [(second["id"], "skipped"), (first["id"], "submitted")]
    assert items[0]["skip_reason"] == "Duplicate" and items[0]["can_reopen"] is False
    assert "reviewer" in items[0]["reopen_refusal"]
    assert items[1]["can_reopen"] is True and items[1]["reopen_refusal"] is None
    assert items[1]["project"] == {"id": w.project.pk, "name": w.project.name}
    assert items[1]["article"]["title"] == "Putin warns the West"

    assert [i["id"] for i in c.get("/api/v1/me/work/", {"q": "nato"}).json()["results"]] == [second["id"]]
    assert [i["id"] for i in c.get("/api/v1/me/work/", {"q": "RT-0"}).json()["results"]] == [first["id"]]
    assert c.get("/api/v1/me/work/", {"project": w.other_project.pk}).json()["results"] == []
    r = c.get("/api/v1/me/work/", {"project": "x"})
    assert r.status_code == 400 and "project" in r.json()["error"]["details"]


def test_annotator_reopens_own_submission_within_the_window_then_fixes_and_resubmits():
    w = make_world(articles=1)
    c = w.client("annotator")
    t = submit_next(w, c)
    r = c.post(f"/api/v1/assignments/{t['id']}/reopen/")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    event = audit_events_for(project=w.project, action="assignment.reopen").get()
    assert event.actor == w.users["annotator"] and event.after["status"] == "in_progress"
    version = r.json()["annotation"]["version"]
    r = c.patch(f"/api/v1/assignments/{t['id']}/annotation/", {"version": version, "notes": "fixed"}, format="json")
    assert r.status_code == 200
    r = c.post(f"/api/v1/assignments/{t['id']}/submit/", {"version": r.json()["version"]}, format="json")
    assert r.status_code == 200 and r.json()["annotation"]["notes"] == "fixed"


def test_reopen_outside_the_window_is_403_with_the_reason_and_reviewers_still_may():
    w = make_world(articles=1)
    c = w.client("annotator")
    t = submit_next(w, c)
    Assignment.objects.filter(pk=t["id"]).update(submitted_at=timezone.now() - timedelta(hours=25))
    r = c.post(f"/api/v1/assignments/{t['id']}/reopen/")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "permission_denied" and "24 h" in err["message"] and "reviewer" in err["message"]
    assert err["details"]["reason"] == err["message"]
    assert Assignment.objects.get(pk=t["id"]).status == "submitted"
    assert not audit_events_for(project=w.project, action="assignment.reopen").exists()
    item = c.get("/api/v1/me/work/").json()["results"][0]
    assert item["can_reopen"] is False and item["reopen_refusal"] == err["message"]

    # The window is the project's: a longer one lets the annotator in again; 0 leaves it to reviewers.
    w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/", {"reopen_window_hours": 48}, format="json")
    assert c.get("/api/v1/me/work/").json()["results"][0]["can_reopen"] is True
    r = w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/", {"reopen_window_hours": 0}, format="json")
    assert r.status_code == 200 and r.json()["reopen_window_hours"] == 0
    r = c.post(f"/api/v1/assignments/{t['id']}/reopen/")
    assert r.status_code == 403 and "only reviewers" in r.json()["error"]["message"]
    assert w.client("reviewer").post(f"/api/v1/assignments/{t['id']}/reopen/").status_code == 200


def test_project_settings_have_defaults_and_refuse_bad_values():
    w = make_world(articles=0)
    admin = w.client("admin")
    p = admin.get(f"/api/v1/projects/{w.project.pk}/").json()
    assert (p["reopen_window_hours"], p["unreviewed_suggestions"]) == (24, "ask")
    r = admin.patch(f"/api/v1/projects/{w.project.pk}/", {"unreviewed_suggestions": "never"}, format="json")
    assert r.status_code == 400 and "unreviewed_suggestions" in r.json()["error"]["details"]
    r = admin.patch(f"/api/v1/projects/{w.project.pk}/", {"reopen_window_hours": -1}, format="json")
    assert r.status_code == 400 and "reopen_window_hours" in r.json()["error"]["details"]
    r = admin.patch(f"/api/v1/projects/{w.project.pk}/", {"unreviewed_suggestions": "block"}, format="json")
    assert r.json()["unreviewed_suggestions"] == "block"
    r = admin.patch(f"/api/v1/projects/{w.project.pk}/", {"unreviewed_suggestions": None}, format="json")
    assert r.json()["unreviewed_suggestions"] == "ask"


def test_block_refuses_a_submission_with_unreviewed_suggestions_naming_them():
    w = make_world(articles=1)  # one PERSON suggestion on the article
    w.project.unreviewed_suggestions = "block"
    w.project.save()
    c = w.client("annotator")
    t = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    doc = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": 1, **COMPLETE}, format="json").json()
    r = c.post(f"/api/v1/assignments/{t['id']}/submit/", {"version": doc["version"]}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "incomplete"
    assert "1 suggestion not yet reviewed" in r.json()["error"]["details"]["suggestions"][0]
    r = c.post(f"/api/v1/assignments/{t['id']}/suggestions/{w.suggestion.pk}/reject/",
               {"version": doc["version"]}, format="json")
    assert r.status_code == 200
    r = c.post(f"/api/v1/assignments/{t['id']}/submit/", {"version": r.json()["version"]}, format="json")
    assert r.status_code == 200


def test_identical_suggestions_are_shown_once_the_imported_one():
    w = make_world(articles=0)
    article = ArticleFactory(project=w.project)
    model = SpanFactory(article=article, start=0, end=5, label="PERSON", origin="model")
    imported = SpanFactory(article=article, start=0, end=5, label="PERSON", origin="import")
    other = SpanFactory(article=article, start=0, end=5, label="ORG", origin="model")
    t = w.client("annotator").post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    assert sorted(s["id"] for s in t["suggestions"]) == sorted([imported.pk, other.pk])
    assert model.pk not in [s["id"] for s in t["suggestions"]] and t["hidden_suggestions"] == 0
