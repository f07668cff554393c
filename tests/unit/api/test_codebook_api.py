"""Issue 14 points 3-5 through the API: PATCH merges the label schema, PUT replaces it, the preview
says what a change migrates, the audit trail, suggestions honour the schema."""

from __future__ import annotations

import pytest

from annotate.label_schema import MEDIA_FRAMES, SPAN_LABELS
from annotate.models import Annotation, Project, Span
from tests.factories import SpanFactory
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def url(w, tail=""):
    return f"/api/v1/projects/{w.project.pk}/{tail}"


def submitted_with_stance(w, label="AGAINST"):
    """The annotator's first task, saved with `label` on every target and submitted."""
    c = w.client("annotator")
    t = c.post(url(w, "tasks/next/")).json()
    doc = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {
        "version": 1, "stance": {"western-troops": label, "sanctions": label}, "frames": ["Economic"],
        "primary_frame": "Economic"}, format="json").json()
    return c, t, doc


def test_issue14_partial_patch_keeps_the_rest_of_the_schema():
    w = make_world()
    r = w.client("admin").patch(url(w), {"label_schema": {"stance_labels": ["FAVOR", "AGAINST", "NEUTRAL",
                                                                            "UNRELATED", "MIXED"]}}, format="json")
    assert r.status_code == 200
    schema = r.json()["label_schema"]
    assert schema["frames"] == MEDIA_FRAMES and schema["span_labels"] == SPAN_LABELS
    assert schema["stance_labels"][-1] == "MIXED"
    assert schema["version"] == 2 and r.json()["codebook_version"] == 2


def test_patch_merges_after_an_earlier_change_instead_of_resetting_it():
    w = make_world()
    admin = w.client("admin")
    assert admin.patch(url(w), {"label_schema": {"span_labels": ["PERSON", "ORG", "QUOTE", "SPEAKER"]}},
                       format="json").status_code == 200
    r = admin.patch(url(w), {"label_schema": {"frames_required": "none"}}, format="json")
    assert r.json()["label_schema"]["span_labels"] == ["PERSON", "ORG", "QUOTE", "SPEAKER"]
    assert r.json()["label_schema"]["frames_required"] == "none" and r.json()["codebook_version"] == 3


def test_put_replaces_the_schema_and_resets_what_is_not_given():
    w = make_world()
    admin = w.client("admin")
    admin.patch(url(w), {"guidelines": "# Read me", "label_schema": {"frames": ["Economic", "Other"]}}, format="json")
    r = admin.put(url(w), {"name": "Replaced", "slug": w.project.slug,
                           "label_schema": {"stance_labels": ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]}},
                  format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["label_schema"]["frames"] == MEDIA_FRAMES and r.json()["guidelines"] == ""
    assert r.json()["name"] == "Replaced"


def test_rename_a_used_stance_label_needs_a_mapping_then_migrates():
    w = make_world()
    submitted_with_stance(w, "AGAINST")
    admin = w.client("admin")
    labels = ["FAVOR", "OPPOSE", "NEUTRAL", "UNRELATED"]
    r = admin.patch(url(w), {"label_schema": {"stance_labels": labels}}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "label_in_use"
    assert "'AGAINST' is in use (2: 2 annotations" in r.json()["error"]["message"]
    assert Annotation.objects.get().stance == {"western-troops": "AGAINST", "sanctions": "AGAINST"}

    preview = admin.post(url(w, "codebook/preview/"), {"label_schema": {"stance_labels": labels},
                                                       "mappings": {"stance_labels": {"AGAINST": "OPPOSE"}}},
                         format="json").json()
    assert preview["ok"] and preview["next_version"] == 2
    assert preview["migrate"] == [{"kind": "stance_labels", "label": "AGAINST", "to": "OPPOSE", "action": "rename",
                                   "uses": {"annotations": 2, "gold": 0}, "total": 2}]
    assert Annotation.objects.get().stance["sanctions"] == "AGAINST"  # a preview writes nothing

    r = admin.patch(url(w), {"label_schema": {"stance_labels": labels},
                             "mappings": {"stance_labels": {"AGAINST": "OPPOSE"}}}, format="json")
    assert r.status_code == 200 and r.json()["codebook_version"] == 2
    assert Annotation.objects.get().stance == {"western-troops": "OPPOSE", "sanctions": "OPPOSE"}


def test_preview_reports_blocked_labels_and_bad_mappings_name_the_field():
    w = make_world()
    submitted_with_stance(w, "AGAINST")
    admin = w.client("admin")
    preview = admin.post(url(w, "codebook/preview/"), {"label_schema": {"stance_labels": ["FAVOR"]}},
                         format="json").json()
    assert not preview["ok"] and [b["label"] for b in preview["blocked"]] == ["AGAINST"]
    r = admin.patch(url(w), {"label_schema": {"stance_labels": ["FAVOR"]},
                             "mappings": {"stance_labels": {"AGAINST": "CONTRA"}}}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("mappings.stance_labels.AGAINST: 'CONTRA' is not a label")


def test_an_autosave_based_on_the_old_codebook_gets_409_and_the_reload_shows_the_new_one():
    w = make_world()
    c = w.client("annotator")
    t = c.post(url(w, "tasks/next/")).json()
    doc = c.put(f"/api/v1/assignments/{t['id']}/annotation/",
                {"version": 1, "stance": {"western-troops": "AGAINST"}}, format="json").json()
    w.client("admin").patch(url(w), {"label_schema": {"stance_labels": ["FAVOR", "OPPOSE", "NEUTRAL", "UNRELATED"]},
                                     "mappings": {"stance_labels": {"AGAINST": "OPPOSE"}}}, format="json")
    r = c.put(f"/api/v1/assignments/{t['id']}/annotation/",
              {"version": doc["version"], "stance": {"western-troops": "AGAINST"}, "notes": "typed"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_write"
    assert r.json()["error"]["details"]["current"]["stance"] == {"western-troops": "OPPOSE"}


def test_audit_trail_lists_codebook_and_membership_events_for_reviewers_only():
    w = make_world()
    admin = w.client("admin")
    admin.patch(url(w), {"label_schema": {"stance_labels": ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED", "X"]}},
                format="json")
    member = admin.post(url(w, "members/"), {"user": "staff-user", "role": "annotator"}, format="json").json()
    admin.patch(url(w, f"members/{member['id']}/"), {"role": "reviewer"}, format="json")
    admin.delete(url(w, f"members/{member['id']}/"))
    body = w.client("reviewer").get(url(w, "audit/")).json()
    actions = [e["action"] for e in body["results"]]
    assert actions == ["membership.delete", "membership.update", "membership.create", "codebook.change"]
    change = body["results"][-1]
    assert change["actor"]["username"] == "admin-user"
    assert change["after"]["added"] == {"stance_labels": ["X"]}
    assert body["results"][1]["before"]["role"] == "annotator" and body["results"][1]["after"]["role"] == "reviewer"
    assert body["results"][0]["before"]["user"] == "staff-user"
    only = w.client("admin").get(url(w, "audit/?action=membership.")).json()["results"]
    assert {e["action"] for e in only} == {"membership.create", "membership.update", "membership.delete"}
    assert w.client("annotator").get(url(w, "audit/")).status_code == 403
    assert w.client("exporter").get(url(w, "audit/")).status_code == 403
    assert w.client("outsider").get(url(w, "audit/")).status_code == 404


def test_issue14_suggestions_outside_the_span_labels_are_hidden_and_counted():
    w = make_world()
    w.client("admin").patch(url(w), {"label_schema": {"span_labels": ["PERSON", "ORG", "GPE", "QUOTE", "SPEAKER"]}},
                            format="json")
    SpanFactory(article=w.articles[0], start=15, end=20, label="DATE")
    c = w.client("annotator")
    t = c.post(url(w, "tasks/next/")).json()
    assert [s["label"] for s in t["suggestions"]] == ["PERSON"] and t["hidden_suggestions"] == 1
    again = c.get(f"/api/v1/assignments/{t['id']}/").json()
    assert [s["label"] for s in again["suggestions"]] == ["PERSON"] and again["hidden_suggestions"] == 1
    listed = c.get(f"/api/v1/assignments/{t['id']}/suggestions/").json()
    assert [s["label"] for s in listed] == ["PERSON"]
    assert Span.objects.filter(label="DATE").count() == 1  # still stored


def test_a_stored_span_whose_label_left_the_schema_is_named():
    w = make_world()
    c = w.client("annotator")
    t = c.post(url(w, "tasks/next/")).json()
    doc = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {"version": 1, "spans": [
        {"start": 0, "end": 8, "label": "PERSON"}, {"start": 15, "end": 20, "label": "DATE"}]}, format="json").json()
    refused = w.client("admin").patch(url(w), {"label_schema": {"span_labels": ["PERSON", "QUOTE", "SPEAKER"]}},
                                      format="json")
    assert refused.status_code == 409 and "'DATE' is in use (1: 1 annotation spans)" in refused.json()["error"]["message"]
    # A schema changed before codebook changes were checked (or by hand) still holds such spans.
    Project.objects.filter(pk=w.project.pk).update(
        label_schema={**w.project.label_schema, "span_labels": ["PERSON", "QUOTE", "SPEAKER"]})
    doc = c.get(f"/api/v1/assignments/{t['id']}/annotation/").json()
    r = c.put(f"/api/v1/assignments/{t['id']}/annotation/", {**doc, "notes": "x"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "spans[1]: label \"DATE\" is no longer in this project's span labels: relabel or remove this span")
