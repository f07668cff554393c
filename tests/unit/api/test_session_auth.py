"""The web UI's session authentication (api.authentication.FastSessionAuthentication): read with
hand-written statements, but the same rules as Django's own get_user and DRF's CSRF check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate.services.queue import assignment_next
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory


@pytest.fixture
def world():
    return make_world(articles=2)


def browser(w, who="annotator", *, csrf=False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=w.users[who].username, password=PASSWORD)
    return client


def me(client) -> int:
    return client.get("/api/v1/me/").status_code


def test_a_signed_in_browser_is_the_user_and_costs_two_statements(world):
    client = browser(world)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["username"] == world.users["annotator"].username
    reads = [q["sql"] for q in ctx.captured_queries]
    assert reads[0].startswith('SELECT "session_data"') and 'FROM auth_user u' in reads[1]
    assert "Cookie" in response["Vary"]  # the answer depends on the session, as with Django's own path


def test_role_and_project_come_with_the_user_under_a_project(world):
    client = browser(world)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/api/v1/projects/{world.project.pk}/tasks/next/")
    assert response.status_code == 200
    user_read = next(q["sql"] for q in ctx.captured_queries if "FROM auth_user u" in q["sql"])
    assert 'm."role"' in user_read
    if connection.features.has_select_for_update:
        assert "FOR UPDATE OF u" in user_read  # `next` serializes each caller's requests


def test_writes_need_the_csrf_token(world):
    client = browser(world, csrf=True)
    task = client.post(f"/api/v1/projects/{world.project.pk}/tasks/next/")
    assert task.status_code == 403 and "CSRF" in task.json()["error"]["message"]
    client.get("/")  # the page sets the CSRF cookie, as in the browser
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    task = client.post(f"/api/v1/projects/{world.project.pk}/tasks/next/", content_type="application/json",
                       HTTP_X_CSRFTOKEN=token)
    assert task.status_code == 200
    doc = {"version": 1, "notes": "from the browser"}
    url = f"/api/v1/assignments/{task.json()['id']}/annotation/"
    assert client.patch(url, doc, content_type="application/json").status_code == 403
    assert client.patch(url, doc, content_type="application/json", HTTP_X_CSRFTOKEN=token).status_code == 200


def test_a_logged_out_session_is_refused(world):
    client = browser(world)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.logout()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # replayed after logout
    assert me(client) == 401


def test_an_expired_session_is_refused(world):
    client = browser(world)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert me(client) == 401


def test_a_deactivated_user_is_refused(world):
    client = browser(world)
    assert me(client) == 200
    user = world.users["annotator"]
    user.is_active = False
    user.save()
    assert me(client) == 401


def test_a_password_change_ends_other_sessions_and_deletes_them(world):
    client = browser(world)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    user = world.users["annotator"]
    user.set_password("a new one")
    user.save()
    assert me(client) == 401
    assert not Session.objects.filter(session_key=key).exists()  # flushed, as Django does


def test_a_tampered_session_cookie_is_anonymous(world):
    client = browser(world)
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert me(client) == 401
    session = Session.objects.get()
    session.session_data = session.session_data[:-3] + "AAA"  # bad signature
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert me(client) == 401


def test_blind_annotation_holds_over_sessions(world):
    owner = world.users["annotator"]
    assignment = assignment_next(project=world.project, user=owner)
    assert browser(world, "annotator").get(f"/api/v1/assignments/{assignment.pk}/").status_code == 200
    assert browser(world, "annotator2").get(f"/api/v1/assignments/{assignment.pk}/").status_code == 404
    assert browser(world, "outsider").get(f"/api/v1/projects/{world.project.pk}/").status_code == 404
