"""Projects, targets and members over the API."""

import pytest

from annotate.models import Membership, Project
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def test_staff_creates_a_project_with_targets_and_becomes_its_admin():
    w = make_world(articles=0)
    r = w.client("staff").post("/api/v1/projects/", {
        "name": "Ukraine", "slug": "ukraine", "guidelines": "# Read me\n<script>alert(1)</script>",
        "overlap": 3, "targets": [{"key": "troops", "name": "Western troops"}, {"key": "aid", "name": "Aid"}]},
        format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["role"] == "admin" and body["overlap"] == 3
    assert [t["key"] for t in body["targets"]] == ["troops", "aid"]
    assert "<h1>Read me</h1>" in body["guidelines_html"] and "<script>" not in body["guidelines_html"]
    assert body["label_schema"]["stance_labels"] == ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]
    assert Membership.objects.get(project_id=body["id"], user=w.users["staff"]).role == "admin"


def test_label_schema_errors_name_the_field():
    w = make_world(articles=0)
    r = w.client("staff").post("/api/v1/projects/", {
        "name": "X", "slug": "x", "label_schema": {"frames": ["Economic", "Economic"], "colour": 1}}, format="json")
    assert r.status_code == 400
    details = r.json()["error"]["details"]
    assert details["label_schema.frames[1]"] == ["duplicate 'Economic'"]
    assert details["label_schema"] == ["unknown key 'colour'"]
    assert not Project.objects.filter(slug="x").exists()


def test_duplicate_slug_is_a_conflict():
    w = make_world(articles=0)
    r = w.client("staff").post("/api/v1/projects/", {"name": "X", "slug": w.project.slug}, format="json")
    assert r.status_code == 409 and r.json()["error"]["details"] == {"slug": ["already exists"]}


def test_admin_patches_schema_and_overlap():
    w = make_world(articles=0)
    url = f"/api/v1/projects/{w.project.pk}/"
    r = w.client("admin").patch(url, {"overlap": 0}, format="json")
    assert r.status_code == 400 and "overlap" in r.json()["error"]["details"]
    r = w.client("admin").patch(url, {"overlap": 1, "label_schema": {"stance_labels": ["PRO", "CON"]}}, format="json")
    assert r.status_code == 200
    assert r.json()["overlap"] == 1 and r.json()["label_schema"]["stance_labels"] == ["PRO", "CON"]


def test_me_lists_projects_with_role():
    w = make_world(articles=0)
    me = w.client("annotator").get("/api/v1/me/").json()
    assert me["username"] == "annotator-user"
    assert me["projects"] == [{"id": w.project.pk, "name": w.project.name, "slug": w.project.slug,
                               "role": "annotator"}]
    assert {p["role"] for p in w.client("superuser").get("/api/v1/me/").json()["projects"]} == {"admin"}


def test_project_list_shows_only_my_projects():
    w = make_world(articles=0)
    ids = [p["id"] for p in w.client("outsider").get("/api/v1/projects/").json()["results"]]
    assert ids == [w.other_project.pk]


def test_members_and_the_last_admin_is_protected():
    w = make_world(articles=0)
    c = w.client("admin")
    base = f"/api/v1/projects/{w.project.pk}/members/"
    r = c.post(base, {"user": "staff-user", "role": "exporter"}, format="json")
    assert r.status_code == 201 and r.json()["user"]["username"] == "staff-user"
    assert c.post(base, {"user": "staff-user", "role": "exporter"}, format="json").status_code == 409
    assert c.post(base, {"user": "nobody", "role": "exporter"}, format="json").status_code == 400
    admin_membership = Membership.objects.get(project=w.project, user=w.users["admin"])
    r = c.patch(f"{base}{admin_membership.pk}/", {"role": "annotator"}, format="json")
    assert r.status_code == 409 and "at least one admin" in r.json()["error"]["message"]


def test_target_keys_are_unique_and_fixed_once_used():
    w = make_world(articles=1)
    c = w.client("admin")
    base = f"/api/v1/projects/{w.project.pk}/targets/"
    assert c.post(base, {"key": "sanctions", "name": "dup"}, format="json").status_code == 409
    t = w.client("annotator").post(f"/api/v1/projects/{w.project.pk}/tasks/next/").json()
    w.client("annotator").patch(f"/api/v1/assignments/{t['id']}/annotation/",
                                {"version": 1, "stance": {"sanctions": "FAVOR"}}, format="json")
    target = w.targets[1]
    r = c.patch(f"{base}{target.pk}/", {"key": "renamed"}, format="json")
    assert r.status_code == 409
    assert c.patch(f"{base}{target.pk}/", {"name": "Renamed"}, format="json").status_code == 200
