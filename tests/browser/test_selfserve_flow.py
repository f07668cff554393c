"""Issue 15 (tokens, exports, reviewer tools) in real Chromium against the live server, with a
real Celery worker building the export: an exporter makes a token in the browser, exports
CoNLL-U from the Exports tab, downloads it and uses the same token over HTTP until revoking it;
a reviewer invites a user (who sets a password and logs in) and releases and reopens
assignments. axe-core finds no serious or critical violation on those screens."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request

import pytest

from annotate.models import Article, Assignment, AuditEvent, Membership
from tests.factories import MembershipFactory, UserFactory
from tests.unit.exports.data import build_demo

from .conftest import login
from .helpers import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.worker,
              pytest.mark.django_db(transaction=True)]


def _get(url: str, key: str) -> tuple[int, bytes]:
    """What `curl -H "Authorization: Token $KEY" URL` does."""
    request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_exporter_token_and_conllu_export_in_the_browser(live_server, page, celery_worker):
    base, shot = live_server.url, page.shot
    demo = build_demo()
    MembershipFactory(project=demo.project, user=UserFactory(username="ml-eng"), role=Membership.Role.EXPORTER)
    refused = []
    page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
    login(page, base, "ml-eng")
    page.get_by_role("button", name="Open").wait_for()
    assert refused == []  # the home page asks nothing an exporter may not see (no queue progress)

    # The exporter's project opens on its Exports tab (it used to say "no permission").
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(f"{base}/manage/projects/{demo.project.pk}/exports")
    page.get_by_role("heading", name="Exports").wait_for()
    assert page.get_by_role("link", name="Dashboard").count() == 0
    assert_accessible(page)

    # A token, made in the browser and shown once.
    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("heading", name="Your account").wait_for()
    page.get_by_label("Token name").fill("")
    page.get_by_role("button", name="Create token").click()
    page.locator('[data-field="name"]').wait_for()  # empty name: refused, the field says why
    page.get_by_label("Token name").fill("laptop export")
    page.get_by_role("button", name="Create token").click()
    key = page.get_by_test_id("new-token-key").input_value()
    assert len(key) == 40
    page.get_by_role("cell", name="laptop export", exact=True).wait_for()
    assert_accessible(page)
    shot("token_created")
    page.reload()
    assert key not in page.content()  # shown once: gone after a reload

    page.goto(f"{base}/manage/projects/{demo.project.pk}/exports")
    page.get_by_label("CoNLL-U").check()
    curl = page.get_by_label("The same export with curl").input_value()
    assert '"format":"conllu"' in curl and "$STANDPOINT_TOKEN" in curl and key not in curl
    assert f"/api/v1/projects/{demo.project.pk}/exports/" in curl
    page.get_by_role("button", name="Start export").click()
    progress = page.get_by_test_id("export-progress")
    progress.get_by_text("done:").wait_for(timeout=60_000)
    assert "3 / 3 articles" in progress.inner_text()
    shot("export_done")
    with page.expect_download() as download_info:
        progress.get_by_role("link", name="Download").click()
    downloaded = download_info.value.path().read_bytes()
    assert b"# newdoc id = ex-0\n" in downloaded  # CoNLL-U, one document per article
    row = page.locator(".m-exports tbody tr").first
    row.get_by_text("conllu.v1").wait_for()
    assert_accessible(page)

    # The same token from a script: the job, its sha256 and the same bytes.
    job_id = int(row.locator("td").first.inner_text())
    status, body = _get(f"{base}/api/v1/exports/{job_id}/", key)
    assert status == 200
    job = json.loads(body)
    assert job["status"] == "done" and job["requested_by"] == "ml-eng"
    assert job["sha256"] == hashlib.sha256(downloaded).hexdigest()
    assert job["sha256"] in row.inner_text()
    assert _get(f"{base}/api/v1/exports/{job_id}/download/", key) == (200, downloaded)

    # Revoked in the browser: the script's next request is refused.
    page.goto(f"{base}/manage/account")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Revoke laptop export").click()
    page.get_by_text("No tokens.").wait_for()
    assert _get(f"{base}/api/v1/exports/{job_id}/", key)[0] == 401
    assert not page.errors


def test_reviewer_invites_a_user_and_releases_and_reopens_assignments(live_server, page, chromium):
    base, shot = live_server.url, page.shot
    demo = build_demo()
    MembershipFactory(project=demo.project, user=UserFactory(username="rev"), role=Membership.Role.REVIEWER)
    login(page, base, "rev")

    page.goto(f"{base}/manage/projects/{demo.project.pk}/members")
    page.get_by_label("New username").fill("newbie")
    page.get_by_label("Role").last.select_option("annotator")
    page.get_by_role("button", name="Create and invite").click()
    link = page.get_by_test_id("invite-url").input_value()
    assert "/invite/" in link
    page.get_by_role("cell", name="newbie", exact=True).wait_for()
    assert_accessible(page)

    invitee = chromium.new_context().new_page()
    invitee.goto(link)
    invitee.get_by_label("New password", exact=True).fill("a-long-pass-phrase-42")
    invitee.get_by_label("New password again").fill("a-long-pass-phrase-42")
    invitee.get_by_role("button", name="Set password").click()
    invitee.wait_for_url(f"{base}/login/?invited=1")
    login(invitee, base, "newbie", "a-long-pass-phrase-42")
    invitee.get_by_role("heading", name=demo.project.name).wait_for()
    invitee.goto(link)
    invitee.get_by_role("heading", name="This link no longer works").wait_for()
    invitee.context.close()

    # The article browser: annotators disagree on ex-0; it opens read-only with both submissions.
    page.goto(f"{base}/manage/projects/{demo.project.pk}/articles")
    page.get_by_label("Annotators").select_option("true")
    page.get_by_role("status").get_by_text("1 article").wait_for()
    page.get_by_role("link", name="Title 0").click()
    page.get_by_role("heading", name="Title 0 ex-0").wait_for()
    page.get_by_role("cell", name="alice", exact=True).wait_for()
    assert page.get_by_role("cell", name="bob", exact=True).is_visible()
    assert page.get_by_role("button").filter(has_text=re.compile("gold|Save|Decide", re.I)).count() == 0
    assert_accessible(page)
    page.goto(f"{base}/manage/projects/{demo.project.pk}/articles")
    page.get_by_label("Gold").select_option("true")
    page.get_by_role("status").get_by_text("1 article").wait_for()
    assert page.get_by_role("link", name="Title 1").is_visible()
    # Status is filtered by the server over the whole project.
    page.get_by_label("Gold").select_option("")
    page.get_by_label("Status").select_option("untouched")
    untouched = Article.objects.filter(project=demo.project).exclude(
        assignments__status=Assignment.Status.SUBMITTED).count()
    assert untouched > 0
    page.get_by_role("status").get_by_text(f"{untouched} article{'' if untouched == 1 else 's'}", exact=True).wait_for()
    assert page.locator("table.m-table tbody tr").count() == untouched

    stuck = Assignment.objects.get(project=demo.project, status=Assignment.Status.IN_PROGRESS)
    done = Assignment.objects.filter(project=demo.project, status=Assignment.Status.SUBMITTED).first()
    page.goto(f"{base}/manage/projects/{demo.project.pk}/assignments")
    page.get_by_role("button", name=f"Release assignment {stuck.pk} of {stuck.annotator.username}").click()
    page.get_by_text(f"Assignment {stuck.pk} (").wait_for()
    page.get_by_role("button", name=f"Reopen assignment {done.pk} of {done.annotator.username}").click()
    page.get_by_text(f"Assignment {done.pk} (").wait_for()
    assert_accessible(page)
    shot("released_and_reopened")
    stuck.refresh_from_db()
    done.refresh_from_db()
    assert stuck.status == Assignment.Status.SKIPPED and stuck.skip_reason == "stuck: released by a reviewer"
    assert done.status == Assignment.Status.IN_PROGRESS
    actions = set(AuditEvent.objects.filter(project=demo.project, actor_name="rev").values_list("action", flat=True))
    assert {"user.invite", "membership.create", "assignment.skip", "assignment.reopen"} <= actions
    assert not page.errors
