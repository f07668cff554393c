"""End to end in real headless Chromium against the live server (PostgreSQL): the annotator's day."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from annotate.models import Assignment, Membership
from tests.factories import (
    ArticleFactory,
    MembershipFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
)

from .conftest import login
from .helpers import click_text, drag_select, span_titles, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TEXT_1 = (
    "President Vladimir Putin spoke in Moscow on Monday.\r\n"
    "An aide in Kyiv wrote “great news 👍🏽 for Kyiv” after the meeting, and Zürich’s mayor agreed.\n"
    "Владимир Путин ответил: «Нет». Reuters reported it on Tuesday."
)
TEXT_2 = "Second article: NATO ministers met in Brussels to discuss troops."


def cp(text: str, needle: str) -> tuple[int, int]:
    """Python's code point offsets of a substring (what the server must store)."""
    start = text.index(needle)
    return start, start + len(needle)


@pytest.fixture
def world(db):
    project = ProjectFactory(name="Troops in Ukraine", overlap=1, guidelines="# Guide\n\nBe *careful*.")
    TargetFactory(project=project, key="western-troops", name="Western troops in Ukraine", position=0)
    TargetFactory(project=project, key="russia", name="The Russian government", position=1)
    user = UserFactory(username="ana")
    MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    a1 = ArticleFactory(project=project, title="Putin warns the West", source="Reuters", text=TEXT_1, priority=2)
    a2 = ArticleFactory(project=project, title="NATO ministers meet", source="AP", text=TEXT_2, priority=1)
    s, e = cp(TEXT_1, "Vladimir Putin")
    person = SpanFactory(article=a1, start=s, end=e, label="PERSON")
    s, e = cp(TEXT_1, "Tuesday")  # after the emoji and the CRLF: must still sit on "Tuesday"
    tuesday = SpanFactory(article=a1, start=s, end=e, label="DATE")
    return {"project": project, "user": user, "a1": a1, "a2": a2, "person": person, "tuesday": tuesday}


def test_annotator_day_end_to_end(live_server, page, world):
    base = live_server.url
    shot = page.shot
    login(page, base, "ana")
    page.wait_for_selector(".project-card")
    shot("projects")

    page.click(".project-card .btn")
    page.wait_for_selector(".queue-card")
    assert "remaining" in page.inner_text(".queue-card")
    shot("queue")

    page.click(".queue-card .btn-primary")
    page.wait_for_selector(".article-text")
    page.wait_for_url(re.compile(r"/assignments/\d+/$"))
    assignment = Assignment.objects.get(article=world["a1"], annotator=world["user"])
    assert page.inner_text(".article-title") == "Putin warns the West"
    # Suggestions render on exactly their characters, even after the emoji and the CRLF.
    suggested = page.eval_on_selector_all(
        ".article-text .hl", "els => els.filter(e => e.title.includes('suggested')).map(e => e.textContent)")
    assert "Vladimir Putin" in suggested and "Tuesday" in suggested
    shot("article_opened")
    page.keyboard.press("?")
    page.wait_for_selector(".dialog.help")
    assert "undo / redo" in page.inner_text(".dialog.help")
    shot("shortcuts_overlay")
    page.keyboard.press("Escape")

    # Accept the suggested PERSON with the mouse + keyboard.
    click_text(page, "Vladimir Putin")
    page.wait_for_selector(".badge-sugg")
    page.keyboard.press("a")
    assert "PERSON" in span_titles(page)
    # Undo brings the suggestion back, redo confirms it again.
    page.keyboard.press("Control+z")
    assert "PERSON" not in span_titles(page) and "PERSON (suggested)" in span_titles(page)
    page.keyboard.press("Control+Shift+z")
    assert "PERSON" in span_titles(page)
    shot("suggestion_accepted")

    # Add a QUOTE over a phrase with an emoji: a sloppy drag, snapped to whole tokens.
    drag_select(page, "great news 👍🏽 for Kyiv")
    page.keyboard.press("q")
    page.wait_for_selector(".badge-ok")
    assert page.inner_text(".sel-text") == "great news 👍🏽 for Kyiv"
    # Its speaker: press m, click the mention.
    page.keyboard.press("m")
    click_text(page, "Vladimir Putin")
    page.wait_for_selector(".speaker-chip")
    assert page.inner_text(".speaker-chip").endswith("Vladimir Putin")
    shot("quote_added_with_speaker")

    # Stance with number keys (the active target moves on), frames with the mouse.
    page.keyboard.press("Escape")
    page.keyboard.press("2")  # western-troops: AGAINST
    page.keyboard.press("3")  # russia: NEUTRAL
    page.check(".frames li:has-text('Security and defense') input")
    page.check(".frames li:has-text('Political') input")
    page.click(".frames li:has-text('Political') .star")
    page.fill("#notes", "Speaker of the quote is implied.")
    page.locator(".article-body").click(position={"x": 5, "y": 5})  # leave the text field
    wait_saved(page)
    shot("stance_frames_saved")

    # Reload: everything is still there (restored from the server).
    page.reload()
    page.wait_for_selector(".article-text")
    titles = span_titles(page)
    assert "PERSON" in titles and "QUOTE" in titles
    assert page.is_checked("input[name='stance-western-troops'][value='AGAINST']")
    assert page.is_checked("input[name='stance-russia'][value='NEUTRAL']")
    assert page.is_checked(".frames li:has-text('Security and defense') input")
    assert page.get_attribute(".frames li:has-text('Political') .star", "aria-pressed") == "true"
    assert page.input_value("#notes") == "Speaker of the quote is implied."
    assert page.inner_text(".speaker-chip").endswith("Vladimir Putin")
    shot("after_reload")

    # Enter = submit and next; the DATE suggestion was left unreviewed, so one prompt first,
    # answered with Enter too ("Submit anyway" has the focus).
    page.keyboard.press("Enter")
    page.wait_for_selector("[aria-labelledby=unreviewed-title]")
    assert "1 suggestion not reviewed" in page.inner_text("#unreviewed-title")
    page.keyboard.press("Enter")
    # A function, not an expression: the page's CSP (no unsafe-eval) refuses to eval a string.
    page.wait_for_function("() => document.querySelector('.article-title')?.textContent === 'NATO ministers meet'")
    assert f"/assignments/{assignment.pk}/" not in page.url
    shot("next_article")
    assert page.errors == []

    # The stored offsets, read back through the API, are Python's code point offsets.
    client = APIClient()
    client.force_authenticate(world["user"])
    doc = client.get(f"/api/v1/assignments/{assignment.pk}/annotation/").json()
    spans = {(s["label"], s["start"], s["end"]) for s in doc["spans"]}
    q_start, q_end = cp(TEXT_1, "great news 👍🏽 for Kyiv")
    p_start, p_end = cp(TEXT_1, "Vladimir Putin")
    assert spans == {("PERSON", p_start, p_end), ("QUOTE", q_start, q_end)}
    quote = next(s for s in doc["spans"] if s["label"] == "QUOTE")
    assert quote["attrs"]["speaker"] == "Vladimir Putin"
    assert quote["attrs"]["speaker_span"] == {"start": p_start, "end": p_end}
    assert next(s for s in doc["spans"] if s["label"] == "PERSON")["suggestion"] == world["person"].pk
    assert doc["stance"] == {"western-troops": "AGAINST", "russia": "NEUTRAL"}
    assert sorted(doc["frames"]) == ["Political", "Security and defense"]
    assert doc["primary_frame"] == "Political"
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED


def test_xss_article_and_notes_render_as_text(live_server, page, world):
    evil = 'Breaking <script>window.__xss = 1</script> and <img src=x onerror="window.__xss = 2"> news'
    project = world["project"]
    ArticleFactory(project=project, title='<img src=x onerror="window.__xss = 3">', text=evil, priority=9)
    login(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click(".queue-card .btn-primary")
    page.wait_for_selector(".article-text")
    assert page.inner_text(".article-text") == evil
    assert page.inner_text(".article-title") == '<img src=x onerror="window.__xss = 3">'
    assert page.locator(".paper img, .paper script").count() == 0
    page.fill("#notes", '<img src=x onerror="window.__xss = 4"><b>bold?</b>')
    page.keyboard.press("Escape")
    wait_saved(page)
    page.reload()
    page.wait_for_selector(".article-text")
    assert page.input_value("#notes") == '<img src=x onerror="window.__xss = 4"><b>bold?</b>'
    page.shot("xss_rendered_as_text")
    assert page.evaluate("window.__xss") is None
    assert page.errors == []


def test_offline_edits_queue_and_retry(live_server, page, world):
    login(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/projects/{world['project'].pk}/")
    page.click(".queue-card .btn-primary")
    page.wait_for_selector(".article-text")
    # The network drops every save…
    page.route("**/annotation/", lambda route: route.abort("internetdisconnected"))
    page.keyboard.press("1")
    page.wait_for_selector('[data-save-state="offline"]')
    assert "Offline" in page.inner_text(".save-pill")
    page.shot("offline_retrying")
    # …and comes back: the queued edit goes through on its own.
    page.unroute("**/annotation/")
    page.wait_for_selector('[data-save-state="saved"]', timeout=20_000)
    assignment = Assignment.objects.get(article=world["a1"], annotator=world["user"])
    assert assignment.annotation.stance == {"western-troops": "FAVOR"}
    page.shot("back_online_saved")


def test_conflict_shows_the_servers_version(live_server, page, world):
    login(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/projects/{world['project'].pk}/")
    page.click(".queue-card .btn-primary")
    page.wait_for_selector(".article-text")
    assignment = Assignment.objects.get(article=world["a1"], annotator=world["user"])
    # Another tab writes first.
    client = APIClient()
    client.force_authenticate(world["user"])
    current = client.get(f"/api/v1/assignments/{assignment.pk}/annotation/").json()
    r = client.patch(f"/api/v1/assignments/{assignment.pk}/annotation/",
                     {"version": current["version"], "notes": "written in the other tab"}, format="json")
    assert r.status_code == 200, r.content
    # This tab's edit is refused, and the annotator sees both versions.
    page.keyboard.press("2")
    page.wait_for_selector(".dialog.conflict")
    assert "written in the other tab" in page.inner_text(".dialog.conflict")
    page.shot("conflict_dialog")
    assignment.annotation.refresh_from_db()
    assert assignment.annotation.notes == "written in the other tab"  # not overwritten
    assert assignment.annotation.stance == {}
    page.click("text=Keep mine")
    wait_saved(page)
    assignment.annotation.refresh_from_db()
    assert assignment.annotation.stance == {"western-troops": "AGAINST"}
