"""Issue 17 in real Chromium: an admin imports five outlets' reports of one event and a re-post,
regroups stories with the button, opens the story and sees the outlets side by side with their
stance, the people they quote and the quote they share; the screen passes axe-core."""

from __future__ import annotations

import re

import pytest

from annotate.models import Article, Membership, Project, Story, Target
from annotate.services.gold import gold_edit
from annotate.services.imports import articles_import
from tests.factories import UserFactory
from tests.unit.stories.corpus import DEMO, edited, records, write_jsonl

from .conftest import login
from .helpers import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OUTLETS = ["Daily Ledger", "Kyiv Post Online", "Evening Standard-Times", "Wire Europe", "Breaking Desk"]
QUOTE = "legitimate targets"


def _quote(article: Article, speaker: str) -> list[dict]:
    start = article.text.find(QUOTE)
    return [{"start": start, "end": start + len(QUOTE), "label": "QUOTE",
             "attrs": {"kind": "partial", "speaker": speaker, "speaker_span": None}}] if start >= 0 else []


def test_story_screen_shows_the_outlets_side_by_side(live_server, page, tmp_path):
    base = live_server.url
    admin = UserFactory(username="ada")
    project = Project.objects.create(name="Troops", slug="troops")
    Membership.objects.create(project=project, user=admin, role="admin")
    target = Target.objects.create(project=project, key="western-troops", name="Western troops in Ukraine")
    demo = [{**r, "source": outlet} for r, outlet in zip(records(DEMO), OUTLETS, strict=True)]
    repost = {**edited(demo[3], new_id="repost", kind="boilerplate"), "source": "Aggregator"}
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", [*demo, repost]),
                    queue_preannotation=False, queue_stories=False)
    assert not Story.objects.filter(project=project).exists()
    quoted = [a for a in Article.objects.filter(project=project, external_id__startswith="seed-") if QUOTE in a.text]
    assert len(quoted) >= 2
    for article, speaker, stance in zip(quoted[:2], ["Vladimir Putin", "Putin"], ["AGAINST", "NEUTRAL"], strict=True):
        gold_edit(article=article, by=admin, stance={target.key: stance}, frames=[], spans=_quote(article, speaker))

    login(page, base, "ada")
    page.goto(f"{base}/manage/projects/{project.pk}/stories")
    page.wait_for_selector("text=No stories yet")
    page.click("button:has-text('Recompute stories')")
    page.wait_for_selector("text=Regrouping started")
    page.reload()
    page.wait_for_selector("[data-testid=story-list]")
    assert_accessible(page)
    row = page.locator("[data-testid=story-list] tbody tr").first
    assert row.locator("td").nth(2).inner_text() == "6"  # five outlets and the re-post
    row.locator("a").click()
    page.wait_for_url(re.compile(r"/stories/\d+$"))
    page.wait_for_selector("[data-testid=compare-column] >> nth=5")
    columns = page.locator("[data-testid=compare-column]")
    headings = [columns.nth(i).locator("h3").inner_text() for i in range(columns.count())]
    assert sorted(headings) == sorted([*OUTLETS, "Aggregator"])
    boxes = [columns.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    stances = page.locator("[data-testid=compare-column] dd").all_inner_texts()
    assert stances.count("AGAINST") == 1 and stances.count("NEUTRAL") == 1
    speakers = page.locator("[data-testid=speakers] tbody tr")
    assert speakers.count() == 1 and speakers.first.locator("td").first.inner_text() == "Vladimir Putin"
    assert QUOTE in page.locator("[data-testid=shared-quotes]").inner_text()
    page.wait_for_selector("canvas[aria-label^='Stance on Western troops']")
    page.shot("story_compare")
    assert_accessible(page)

    page.click("button:has-text('Rename')")
    page.fill("#story-name", "Putin warns the West")
    page.click("button:has-text('Save')")
    page.wait_for_selector("h2:has-text('Putin warns the West')")
    story = Story.objects.get(project=project, name="Putin warns the West")
    assert story.manual and story.links.count() == 6
