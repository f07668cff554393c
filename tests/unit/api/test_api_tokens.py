"""Issue 15, part 1: named API tokens in the browser and over REST, stored hashed."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.test import APIClient

from annotate.models import ApiToken
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def _with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_created_token_is_shown_once_stored_hashed_and_works_until_revoked():
    w = make_world(articles=0)
    me = w.client("exporter")
    r = me.post("/api/v1/me/tokens/", {"name": "nightly export"}, format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    key = created["key"]
    assert len(key) == 40 and created["name"] == "nightly export" and created["last_used_at"] is None
    stored = ApiToken.objects.get(pk=created["id"])
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.key_hash, stored.prefix, stored.name}

    assert _with_key(key).get("/api/v1/me/").json()["username"] == "exporter-user"
    listed = me.get("/api/v1/me/tokens/").json()
    mine = next(t for t in listed if t["id"] == created["id"])
    assert "key" not in mine and mine["last_used_at"] is not None and mine["prefix"] == key[:4]

    assert me.delete(f"/api/v1/me/tokens/{created['id']}/").status_code == 204
    assert _with_key(key).get("/api/v1/me/").status_code == 401
    assert all(t["id"] != created["id"] for t in me.get("/api/v1/me/tokens/").json())


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {"name": "x" * 101}, {}])
def test_a_token_name_empty_or_too_long_is_refused_naming_the_field(body):
    w = make_world(articles=0)
    r = w.client("annotator").post("/api/v1/me/tokens/", body, format="json")
    assert r.status_code == 400
    assert "name" in r.json()["error"]["details"]
    assert not ApiToken.objects.filter(user=w.users["annotator"]).exclude(name="tests").exists()


def test_only_site_admins_see_and_revoke_other_peoples_tokens():
    w = make_world(articles=0)
    key = w.client("annotator").post("/api/v1/me/tokens/", {"name": "laptop"}, format="json").json()
    reviewer = w.client("reviewer")
    assert reviewer.get("/api/v1/me/tokens/?user=annotator-user").status_code == 403
    assert reviewer.delete(f"/api/v1/me/tokens/{key['id']}/").status_code == 404
    assert _with_key(key["key"]).get("/api/v1/me/").status_code == 200

    staff = w.client("staff")
    theirs = staff.get("/api/v1/me/tokens/?user=annotator-user").json()
    assert {t["name"] for t in theirs} == {"laptop", "tests"} and {t["user"] for t in theirs} == {"annotator-user"}
    assert staff.get("/api/v1/me/tokens/?user=nobody").status_code == 404
    assert staff.delete(f"/api/v1/me/tokens/{key['id']}/").status_code == 204
    assert _with_key(key["key"]).get("/api/v1/me/").status_code == 401


def test_anonymous_callers_get_401():
    assert APIClient().get("/api/v1/me/tokens/").status_code == 401
