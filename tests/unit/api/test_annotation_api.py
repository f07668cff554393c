"""The annotation endpoints as a client sees them: optimistic locking, error shape, spans."""

import pytest

from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def task():
    w = make_world()
    c = w.client("annotator")
    t = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    return w, c, t


def test_two_writers_one_gets_409_with_the_current_state_and_nothing_is_overwritten(task):
    w, tab1, t = task
    tab2 = w.client("annotator")  # the same annotator in a second tab
    url = f"/api/v1/assignments/{t['id']}/annotation/"
    r1 = tab1.put(url, {"version": 1, "stance": {"western-troops": "FAVOR"}, "notes": "tab 1"}, format="json")
    assert r1.status_code == 200 and r1.json()["version"] == 2
    r2 = tab2.put(url, {"version": 1, "stance": {"western-troops": "AGAINST"}, "notes": "tab 2"}, format="json")
    assert r2.status_code == 409
    err = r2.json()["error"]
    assert err["code"] == "stale_write"
    assert err["details"]["current"]["notes"] == "tab 1"
    assert err["details"]["current"]["version"] == 2
    assert tab1.get(url).json()["stance"] == {"western-troops": "FAVOR"}
    # The loser rebases on the current version and succeeds.
    r3 = tab2.patch(url, {"version": 2, "notes": "tab 2 after reload"}, format="json")
    assert r3.status_code == 200
    assert r3.json()["stance"] == {"western-troops": "FAVOR"} and r3.json()["version"] == 3


def test_validation_error_names_the_field(task):
    w, c, t = task
    n = len(w.articles[0].text)
    r = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": 1, "spans": [
        {"start": 0, "end": 14, "label": "PERSON"}, {"start": 0, "end": 3, "label": "ORG"},
        {"start": 10, "end": 4120, "label": "QUOTE"}]}, format="json")
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "invalid", "message": f"spans[2].end: 4120 is past the end of the text ({n})",
                                 "details": {"spans[2].end": [f"4120 is past the end of the text ({n})"]}}


def test_type_errors_are_flattened_to_field_paths(task):
    _, c, t = task
    r = c.put(f"/api/v1/assignments/{t['id']}/annotation/",
              {"version": 1, "spans": [{"start": 0, "end": 3, "label": "ORG"}, {"start": "x", "end": 3}]},
              format="json")
    assert r.status_code == 400
    details = r.json()["error"]["details"]
    assert set(details) == {"spans[1].start", "spans[1].label"}


def test_version_is_required_on_patch(task):
    _, c, t = task
    r = c.patch(f"/api/v1/assignments/{t['id']}/annotation/", {"notes": "no version"}, format="json")
    assert r.status_code == 400 and "version" in r.json()["error"]["details"]


def test_span_endpoints_return_the_whole_document(task):
    _, c, t = task
    base = f"/api/v1/assignments/{t['id']}/annotation/spans/"
    r = c.post(base, {"version": 1, "start": 0, "end": 14, "label": "PERSON"}, format="json")
    assert r.status_code == 201
    span_id = r.json()["spans"][0]["id"]
    r = c.post(base, {"version": 2, "start": 0, "end": 14, "label": "PERSON"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = c.patch(f"{base}{span_id}/", {"version": 2, "label": "ORG"}, format="json")
    assert r.json()["spans"][0]["label"] == "ORG"
    r = c.delete(f"{base}{span_id}/?version=1")
    assert r.status_code == 409
    r = c.delete(f"{base}{span_id}/?version=3")
    assert r.status_code == 200 and r.json()["spans"] == [] and r.json()["version"] == 4


def test_submit_incomplete_then_complete_then_closed(task):
    w, c, t = task
    aid = t["id"]
    r = c.post(f"/api/v1/assignments/{aid}/submit/", {"version": 1}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "incomplete"
    assert set(r.json()["error"]["details"]) == {"stance.western-troops", "stance.sanctions", "frames"}
    c.put(f"/api/v1/assignments/{aid}/annotation/", {"version": 1, "stance": {"western-troops": "FAVOR",
          "sanctions": "AGAINST"}, "frames": ["Economic"], "primary_frame": "Economic"}, format="json")
    r = c.post(f"/api/v1/assignments/{aid}/submit/", {"version": 2}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    r = c.patch(f"/api/v1/assignments/{aid}/annotation/", {"version": 3, "notes": "late"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "assignment_closed"
    r = w.client("reviewer").post(f"/api/v1/assignments/{aid}/reopen/")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = c.patch(f"/api/v1/assignments/{aid}/annotation/", {"version": 4, "notes": "fixed"}, format="json")
    assert r.status_code == 200


def test_annotators_are_blind_to_each_other(task):
    w, c, t = task
    c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": 1, "stance": {"sanctions": "FAVOR"}},
          format="json")
    other = w.client("annotator2")
    t2 = other.post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    assert t2["article"]["id"] == t["article"]["id"]  # same article (overlap 2) ...
    assert t2["annotation"]["stance"] == {}  # ... but nothing of the first annotator's work
    assert [a["id"] for a in other.get(f"/api/v1/projects/{w.project.pk}/assignments/").json()["results"]] == [t2["id"]]
    assert other.get(f"/api/v1/assignments/{t['id']}/annotation/").status_code == 404
    assert other.get(f"/api/v1/projects/{w.project.pk}/annotations/").status_code == 403


def test_skip_requires_a_reason(task):
    _, c, t = task
    r = c.post(f"/api/v1/assignments/{t['id']}/skip/", {"reason": ""}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["details"]
    r = c.post(f"/api/v1/assignments/{t['id']}/skip/", {"reason": "not English"}, format="json")
    assert r.json()["skip_reason"] == "not English" and r.json()["status"] == "skipped"


def test_next_returns_204_when_empty():
    w = make_world(articles=0)
    r = w.client("annotator").post(f"/api/v1/projects/{w.project.pk}/tasks/next/")
    assert r.status_code == 204 and r.content == b""


def test_session_auth_needs_csrf_token_token_auth_does_not(task):
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    w, _, t = task
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(w.users["annotator"])
    url = f"/api/v1/assignments/{t['id']}/annotation/"
    assert browser.get(url).status_code == 200
    r = browser.patch(url, '{"version": 1, "notes": "x"}', content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    csrf = _get_new_csrf_string()  # what the page's csrftoken cookie would hold
    browser.cookies["csrftoken"] = csrf
    r = browser.patch(url, '{"version": 1, "notes": "x"}', content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 200


def test_anonymous_gets_401_with_the_error_shape():
    r = make_world(articles=0).client(None).get("/api/v1/me/")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_absurd_ids_in_urls_are_404_not_500():
    w = make_world(articles=0)
    huge = 10**20
    assert w.client("superuser").delete(f"/api/v1/projects/{huge}/members/1/").status_code == 404
    assert w.client("annotator").get(f"/api/v1/assignments/{huge}/").status_code == 404
    assert w.client("annotator").get("/api/v1/assignments/-1/").json()["error"]["code"] == "not_found"
