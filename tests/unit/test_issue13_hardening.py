"""Issue 13, points 2, 6 and 7 (the non-input items): safe defaults, masked error pages, security
headers, login lockout, failed-token rate limit, and the smaller API disagreements."""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.views.debug import technical_500_response
from drf_spectacular.generators import SchemaGenerator

import api.authentication as auth
from annotate.models import Membership
from tests.factories import ExportJobFactory, ProjectFactory, UserFactory, api_client, member
from tests.unit.api.world import make_world
from tests.unit.exports.data import build_demo

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-only"  # tests/factories.UserFactory


def _django(code: str, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
                           f"'annotate.settings'); django.setup(); {code}"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


# --- point 2: safe defaults ---------------------------------------------------------------

def test_issue13_debug_is_off_unless_asked_for(tmp_path):
    shown = _django("from django.conf import settings; print(settings.DEBUG)",
                    {"SECRET_KEY": "k" * 60, "STANDPOINT_VAR_DIR": str(tmp_path)})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "False"


def test_issue13_without_debug_a_secret_key_is_required_and_may_come_from_a_file(tmp_path):
    refused = _django("print('started')", {"STANDPOINT_VAR_DIR": str(tmp_path)})
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr
    assert not (tmp_path / "secret_key").exists()  # no key invented behind the operator's back
    key_file = tmp_path / "key"
    key_file.write_text("f" * 60 + "\n")
    read = _django("from django.conf import settings; print(settings.SECRET_KEY)",
                   {"SECRET_KEY_FILE": str(key_file), "STANDPOINT_VAR_DIR": str(tmp_path)})
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "f" * 60


# Made at run time: the debug page shows this file's source lines, which must not hold them.
PW = [secrets.token_hex(8) for _ in range(6)]
SECRETS = {
    "REDIS_URL": f"redis://:{PW[0]}@cache.internal:6379/0",
    "CELERY_BROKER_URL": f"redis://broker:{PW[1]}@cache.internal:6379/0",
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": f"rediscache://:{PW[2]}@cache.internal:6379/1"}},
}


@override_settings(DEBUG=True, **SECRETS)
def test_issue13_debug_error_page_masks_every_url_credential():
    request = RequestFactory().get("/api/v1/me/", DATABASE_URL=f"postgres://sp:{PW[3]}@db.internal:5432/sp")
    broker = f"amqp://guest:{PW[4]}@mq.internal//"  # a frame variable  # noqa: F841
    try:
        raise ConnectionError(f"Error connecting to redis://:{PW[5]}@cache.internal:6379/0")
    except ConnectionError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    for i, secret in enumerate(PW):
        assert secret not in page, i
    assert "redis://:********@cache.internal:6379/0" in page  # still readable for debugging
    assert "postgres://sp:********@db.internal:5432/sp" in page


@pytest.mark.django_db
def test_issue13_500_is_json_under_api_and_a_plain_page_elsewhere(monkeypatch):
    from api.me.views import MeView
    from frontend import views as frontend_views

    def boom(*args, **kwargs):
        raise RuntimeError("redis://:pw@host")

    monkeypatch.setattr(MeView, "get", boom)
    monkeypatch.setattr(frontend_views, "frontend_assets", boom)
    user = UserFactory()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    api = client.get("/api/v1/me/")
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert api.json()["error"]["code"] == "server_error"
    page = client.get("/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    assert "Server error · Standpoint" in body and "Traceback" not in body and "pw@" not in body


@pytest.mark.django_db
def test_issue13_404_is_a_plain_page_without_url_patterns():
    page = Client().get("/no-such-page/")
    assert page.status_code == 404
    body = page.content.decode()
    assert "Page not found · Standpoint" in body
    assert "api/" not in body and "admin/" not in body  # no URL-pattern list


# --- point 2: security headers ------------------------------------------------------------

INLINE = re.compile(r"<style|<script(?![^>]*\ssrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.I)


def _csp(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


def _no_inline(body: str) -> None:
    # json_script's <script type="application/json"> is data, not code: CSP does not run it.
    body = re.sub(r'<script id="[^"]+" type="application/json">.*?</script>', "", body, flags=re.S)
    assert not INLINE.search(body), INLINE.search(body).group(0)


@pytest.mark.django_db
def test_issue13_pages_send_a_csp_without_unsafe_inline_and_need_none():
    user = UserFactory()
    anonymous = Client()
    login = anonymous.get("/login/")
    policy = _csp(login)
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "unsafe-inline" not in login["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    _no_inline(login.content.decode())
    client = Client()
    client.force_login(user)
    for path in ("/", "/manage/", "/api/docs/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert _csp(page)["script-src"] == "'self'", path
        _no_inline(page.content.decode())
    assert "camera=()" in login["Permissions-Policy"] and "geolocation=()" in login["Permissions-Policy"]


@pytest.mark.django_db
def test_issue13_api_answers_are_not_stored_but_a_finished_export_stays_cacheable(django_capture_on_commit_callbacks):
    demo = build_demo()
    client = api_client(member(demo.project, Membership.Role.EXPORTER))
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me["Cache-Control"] == "no-store"
    assert "Permissions-Policy" in me
    assert api_client().get("/api/v1/me/")["Cache-Control"] == "no-store"
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": "jsonl"}, format="json")
    assert job.status_code == 202
    status = client.get(f"/api/v1/exports/{job.json()['id']}/")
    assert status["Cache-Control"] == "no-store"
    download = client.get(f"/api/v1/exports/{job.json()['id']}/download/")
    assert download.status_code == 200, status.json()
    assert download["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(f"/api/v1/exports/{job.json()['id']}/download/", HTTP_IF_NONE_MATCH=download["ETag"])
    assert again.status_code == 304 and again["Cache-Control"] == download["Cache-Control"]


# --- point 6: anti-automation -------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
@override_settings(AXES_FAILURE_LIMIT=10)
def test_issue13_ten_wrong_passwords_lock_that_username_from_that_address(path, caplog):
    from axes.models import AccessAttempt

    user = UserFactory(username="target", is_staff=True)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    with caplog.at_level(logging.WARNING):
        for _ in range(9):
            assert attacker.post(path, {"username": "target", "password": "wrong"}).status_code == 200
        assert attacker.post(path, {"username": "target", "password": "wrong"}).status_code == 429  # the 10th
    locked = attacker.post(path, {"username": "target", "password": PASSWORD})
    assert locked.status_code == 429  # the right password no longer helps
    assert "_auth_user_id" not in attacker.session
    assert "Too many failed log-ins" in locked.content.decode()
    assert AccessAttempt.objects.filter(username="target", ip_address="203.0.113.9").exists()  # in the admin
    assert any("target" in r.getMessage() for r in caplog.records if r.name.startswith("axes"))
    # Per username *and* address: the owner, elsewhere, still gets in.
    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert owner.post(path, {"username": "target", "password": PASSWORD}).status_code == 302
    assert owner.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_issue13_lockouts_are_listed_in_the_admin():
    from axes.models import AccessAttempt

    root = UserFactory(is_superuser=True, is_staff=True)
    AccessAttempt.objects.create(username="target", ip_address="203.0.113.9", failures_since_start=10,
                                 user_agent="x", path_info="/login/", get_data="", post_data="")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "203.0.113.9" in page.content.decode()


@pytest.fixture
def fresh_failures():
    cache.clear()
    auth.forget_tokens()
    yield
    cache.clear()
    auth.forget_tokens()


@pytest.mark.django_db
@override_settings(API_TOKEN_FAILURE_LIMIT=3, API_TOKEN_FAILURE_WINDOW=60)
def test_issue13_failed_tokens_from_one_address_get_429_with_retry_after(fresh_failures, caplog):
    w = make_world(articles=0)
    w.client("annotator")  # creates the token
    good = w.keys["annotator"]
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    wrong = [attacker.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {i:040d}").status_code for i in range(3)]
    assert wrong == [401, 401, 401]
    with caplog.at_level(logging.WARNING, logger="standpoint.security"):
        refused = attacker.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {9:040d}")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert any("203.0.113.9" in r.getMessage() for r in caplog.records)
    # From that address even a valid token is refused (no oracle for a guess that hit)…
    assert attacker.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {good}").status_code == 429
    # …while everyone else is unaffected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {good}").status_code == 200


@pytest.mark.django_db
def test_issue13_a_successful_token_request_never_touches_the_failure_counter(fresh_failures, monkeypatch):
    w = make_world(articles=0)
    client = w.client("annotator")

    def forbidden(*args, **kwargs):
        raise AssertionError("the cache was used on the successful path")

    monkeypatch.setattr(auth.cache, "add", forbidden)
    monkeypatch.setattr(auth.cache, "incr", forbidden)
    monkeypatch.setattr(auth.cache, "get", forbidden)
    assert all(client.get("/api/v1/me/").status_code == 200 for _ in range(3))


# --- point 7: the smaller items -----------------------------------------------------------

@pytest.mark.django_db
def test_issue13_non_members_cannot_tell_existing_exports_from_missing_ones():
    job = ExportJobFactory(project=ProjectFactory())
    outsider = api_client(member(ProjectFactory(), Membership.Role.ADMIN))
    for suffix in ("", "download/"):
        existing = outsider.get(f"/api/v1/exports/{job.pk}/{suffix}")
        missing = outsider.get(f"/api/v1/exports/{job.pk + 1000}/{suffix}")
        assert existing.status_code == missing.status_code == 404
        assert existing.json() == missing.json()


@pytest.mark.django_db
def test_issue13_project_create_refuses_non_staff_before_validating():
    w = make_world(articles=0)
    r = w.client("admin").post("/api/v1/projects/", {"name": "", "slug": "not a slug!"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    assert "slug" not in str(r.json())
    staff = w.client("staff").post("/api/v1/projects/", {"name": "", "slug": "not a slug!"}, format="json")
    assert staff.status_code == 400  # staff still get their field errors


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_issue13_an_oversize_body_gets_the_json_error_shape():
    w = make_world(articles=0)
    r = w.client("staff").post("/api/v1/projects/", data='{"name": "' + "x" * 5000 + '"}',
                               content_type="application/json")
    assert r.status_code == 413 and r["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == "too_large"


def test_issue13_the_schema_says_the_adjudication_queue_is_paginated():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    answer = schema["paths"]["/api/v1/projects/{project_id}/adjudication/"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    component = schema["components"]["schemas"][ref]
    assert component["type"] == "object"
    assert {"count", "next", "previous", "results"} <= set(component["properties"])
    assert component["properties"]["results"]["type"] == "array"


@pytest.mark.django_db
def test_issue13_page_size_outside_the_schema_is_a_400_not_silently_the_default():
    w = make_world(articles=2)
    client = w.client("admin")
    url = f"/api/v1/projects/{w.project.pk}/articles/"
    for bad in ("null", "0", "-1", "1.5"):
        r = client.get(url, {"page_size": bad})
        assert r.status_code == 400 and "page_size" in r.json()["error"]["details"], bad
    assert len(client.get(url, {"page_size": "1"}).json()["results"]) == 1
    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = {p["name"]: p for p in schema["paths"]["/api/v1/projects/{project_id}/assignments/"]["get"]["parameters"]}
    assert params["page_size"]["schema"]["minimum"] == 1 and params["annotator"]["schema"]["minimum"] == 1
    assert "400" in schema["paths"]["/api/v1/projects/{project_id}/assignments/"]["get"]["responses"]
