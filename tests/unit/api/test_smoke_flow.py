"""One annotator's whole job over the API, as the UI does it."""

import pytest

from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def test_annotator_pulls_annotates_and_submits():
    w = make_world()
    c = w.client("annotator")
    r = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/")
    assert r.status_code == 200, r.content
    task = r.json()
    assert task["article"]["id"] == w.articles[0].pk
    assert task["annotation"]["version"] == 1
    assert [s["id"] for s in task["suggestions"]] == [w.suggestion.pk]
    aid = task["id"]
    doc = {"version": 1, "stance": {"western-troops": "AGAINST", "sanctions": "NEUTRAL"},
           "frames": ["Security and defense"], "primary_frame": "Security and defense", "notes": "",
           "spans": [{"start": 21, "end": 35, "label": "QUOTE"}], "rejected_suggestions": []}
    r = c.put(f"/api/v1/assignments/{aid}/annotation/", doc, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2
    r = c.post(f"/api/v1/assignments/{aid}/suggestions/{w.suggestion.pk}/accept/", {"version": 2}, format="json")
    assert r.status_code == 201, r.content
    assert {(s["label"], s["suggestion"]) for s in r.json()["spans"]} == {("QUOTE", None), ("PERSON", w.suggestion.pk)}
    r = c.post(f"/api/v1/assignments/{aid}/submit/", {"version": 3}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "submitted"
    r = c.post(f"/api/v1/projects/{w.project.pk}/tasks/next/")
    assert r.json()["article"]["id"] == w.articles[1].pk
    r = c.get(f"/api/v1/projects/{w.project.pk}/tasks/progress/")
    assert r.json() == {"assigned": 1, "in_progress": 0, "submitted": 1, "skipped": 0, "available": 1,
                        "total_articles": 3}
    r = w.client("reviewer").get(f"/api/v1/projects/{w.project.pk}/stats/")
    assert r.status_code == 200, r.content
    assert r.json()["stance"] == {"sanctions": {"NEUTRAL": 1}, "western-troops": {"AGAINST": 1}}
