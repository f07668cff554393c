"""Issue 15, part 6: a reviewer creates a user in the project; the invite link sets a password once."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.models import AuditEvent, Membership
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def test_an_invited_user_sets_a_password_once_and_logs_in():
    w = make_world(articles=0)
    r = w.client("reviewer").post(f"/api/v1/projects/{w.project.pk}/invitations/",
                                  {"username": "new-annotator", "role": "annotator"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert Membership.objects.get(project=w.project, user__username="new-annotator").role == "annotator"
    assert {"user.invite", "membership.create"} <= set(
        AuditEvent.objects.filter(project=w.project).values_list("action", flat=True))
    link = body["invite_url"].removeprefix("http://testserver")

    browser = Client()
    page = browser.get(link, follow=True)
    assert page.status_code == 200 and b"Set your password" in page.content
    form_url = page.redirect_chain[-1][0]
    done = browser.post(form_url, {"new_password1": "a-long-pass-phrase-42", "new_password2": "a-long-pass-phrase-42"})
    assert done.status_code == 302 and done["Location"].startswith("/login/")
    assert browser.login(username="new-annotator", password="a-long-pass-phrase-42")
    again = Client().get(link, follow=True)
    assert b"This link no longer works" in again.content


@pytest.mark.parametrize(("who", "body", "code", "field"), [
    ("reviewer", {"username": "", "role": "annotator"}, 400, "username"),
    ("reviewer", {"username": "annotator-user", "role": "annotator"}, 400, "username"),
    ("reviewer", {"username": "bad name!", "role": "annotator"}, 400, "username"),
    ("reviewer", {"username": "x", "role": "annotator", "email": "nope"}, 400, "email"),
    ("reviewer", {"username": "boss", "role": "admin"}, 403, "role"),
    ("annotator", {"username": "friend", "role": "annotator"}, 403, None),
])
def test_bad_invitations_are_refused_and_create_nobody(who, body, code, field):
    w = make_world(articles=0)
    r = w.client(who).post(f"/api/v1/projects/{w.project.pk}/invitations/", body, format="json")
    assert r.status_code == code, r.content
    if field:
        assert field in r.json()["error"]["details"]
    assert not Membership.objects.filter(project=w.project, user__username=body["username"] or "-").exclude(
        user__username="annotator-user").exists()


def test_an_admin_may_invite_a_reviewer():
    w = make_world(articles=0)
    r = w.client("admin").post(f"/api/v1/projects/{w.project.pk}/invitations/",
                               {"username": "second-reviewer", "role": "reviewer", "email": "r@example.org"},
                               format="json")
    assert r.status_code == 201 and r.json()["role"] == "reviewer"
