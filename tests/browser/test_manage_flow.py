"""End to end in real headless Chromium against the live server (PostgreSQL): an admin sets a
project up in the management screens, uploads articles and adds members; two annotators
disagree; the reviewer adjudicates side by side; the dashboard shows agreement; the export
carries the gold."""

from __future__ import annotations

import json
import re

import pytest
from rest_framework.test import APIClient

from annotate.models import Gold, Project
from tests.factories import UserFactory

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ARTICLES = [
    {"id": "kyiv-1", "title": "Troops debate in Paris", "source": "Reuters",
     "text": "👍🏽 Emmanuel Macron said sending Western troops to Ukraine could not be ruled out."},
    {"id": "kyiv-2", "title": "Aid package passes", "source": "AP",
     "text": "The Senate passed the aid package for Ukraine on Tuesday."},
]


def _span(external_id: str, needle: str, label: str) -> dict:
    """A span on `needle` in code point offsets (Python's), as the API takes them."""
    text = next(a["text"] for a in ARTICLES if a["id"] == external_id)
    start = text.index(needle)
    return {"start": start, "end": start + len(needle), "label": label, "attrs": {}}


def _annotate(user, project: Project, labels: dict[str, tuple[str, str]], spans: dict[str, list] | None = None) -> None:
    """The annotator's work through the same REST calls the annotator UI makes."""
    client = APIClient()
    client.force_authenticate(user)
    while True:
        response = client.post(f"/api/v1/projects/{project.pk}/tasks/next/")
        if response.status_code == 204:
            return
        task = response.json()
        stance, frame = labels[task["article"]["external_id"]]
        doc = task["annotation"]
        put = client.put(f"/api/v1/assignments/{task['id']}/annotation/", {
            "version": doc["version"], "stance": {"western-troops": stance}, "frames": [frame],
            "primary_frame": frame, "notes": "", "rejected_suggestions": [],
            "spans": (spans or {}).get(task["article"]["external_id"], []),
        }, format="json")
        assert put.status_code == 200, put.content
        submit = client.post(f"/api/v1/assignments/{task['id']}/submit/", {"version": put.json()["version"]},
                             format="json")
        assert submit.status_code == 200, submit.content


def test_admin_to_gold_export(live_server, page, tmp_path):
    base = live_server.url
    shot = page.shot
    admin = UserFactory(username="ada", is_staff=True)
    ana, ben, rita = UserFactory(username="ana"), UserFactory(username="ben"), UserFactory(username="rita")

    # --- the admin creates the project; a bad slug is reported beside its field
    login(page, base, "ada")
    page.goto(f"{base}/manage/")
    page.click("text=New project")
    page.fill("#f-name", "Troops in Ukraine")
    page.fill("#f-slug", "bad slug!")
    page.fill("#f-overlap", "2")
    page.click("button:has-text('Create project')")
    page.wait_for_selector(".m-field-errors[data-field='slug']")
    shot("slug_error_beside_field")
    page.fill("#f-slug", "troops-ukraine")
    page.click("button:has-text('Create project')")
    page.wait_for_url(re.compile(r"/manage/projects/\d+/setup$"))
    project = Project.objects.get(slug="troops-ukraine")
    assert project.overlap == 2

    # A list error names its line, beside the list it belongs to; nothing is saved.
    page.fill("#f-stance_labels", "FAVOR\nAGAINST\nFAVOR")
    page.click("button:has-text('Save')")
    page.wait_for_selector(".m-field-errors[data-field='label_schema.stance_labels']")
    assert "line 3" in page.inner_text(".m-field-errors[data-field='label_schema.stance_labels']")
    shot("schema_error_beside_field")
    project.refresh_from_db()
    assert project.stance_labels == ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]
    page.fill("#f-stance_labels", "FAVOR\nAGAINST\nNEUTRAL\nUNRELATED")

    page.fill("#t-key", "western-troops")
    page.fill("#t-name", "Western troops in Ukraine")
    page.click("button:has-text('Add target')")
    page.wait_for_selector("text=western-troops")
    shot("target_added")

    # --- import: a bad file is refused with its line, then the good one goes in
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ARTICLES[0]) + "\n" + json.dumps({"id": "x", "title": "no text"}) + "\n")
    good = tmp_path / "articles.jsonl"
    good.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    page.click(".m-tabs >> text=Import")
    page.set_input_files("#i-file", str(bad))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("[data-testid=import-rejected]")
    assert "line 2" in page.inner_text("[data-testid=import-rejected]")
    shot("import_rejected")
    page.set_input_files("#i-file", str(good))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("[data-testid=import-report]")
    assert "2 created" in page.inner_text("[data-testid=import-report]")
    assert project.articles.count() == 2

    # --- members and roles
    page.click(".m-tabs >> text=Members")
    for user, role in (("ana", "annotator"), ("ben", "annotator"), ("rita", "reviewer")):
        page.fill("#m-user", user)
        page.select_option("#m-role", role)
        page.click("button:has-text('Add member')")
        page.wait_for_selector(f"td:has-text('{user}')")
    page.fill("#m-user", "nobody-here")
    page.click("button:has-text('Add member')")
    page.wait_for_selector(".m-field-errors")
    shot("members")

    # --- two annotators: they disagree on the first article, agree on the second
    macron, ukraine = _span("kyiv-1", "Emmanuel Macron", "PERSON"), _span("kyiv-1", "Ukraine", "GPE")
    _annotate(ana, project, {"kyiv-1": ("FAVOR", "Security and defense"), "kyiv-2": ("NEUTRAL", "Economic")},
              {"kyiv-1": [macron]})
    _annotate(ben, project, {"kyiv-1": ("AGAINST", "Political"), "kyiv-2": ("NEUTRAL", "Economic")},
              {"kyiv-1": [macron, ukraine]})

    # --- the reviewer adjudicates
    page.context.clear_cookies()
    login(page, base, "rita")
    page.goto(f"{base}/manage/projects/{project.pk}/adjudication")
    page.wait_for_selector("[data-testid=queue]")
    rows = page.locator("[data-testid=queue] tbody tr")
    assert rows.count() == 1
    assert "Troops debate in Paris" in rows.first.inner_text()
    shot("queue")
    rows.first.locator("a").click()
    page.wait_for_selector("[data-testid=side-by-side]")
    side = page.inner_text("[data-testid=side-by-side]")
    assert "FAVOR" in side and "AGAINST" in side
    # Spans sit on their characters even after the emoji (code points on the wire, UTF-16 in the DOM).
    marked = page.eval_on_selector_all("[data-testid=article-text] mark", "els => els.map(e => e.textContent)")
    assert marked == ["Emmanuel Macron", "Ukraine"]
    assert "m-hl-agree" in page.get_attribute("[data-testid=article-text] mark >> nth=0", "class")
    assert "m-hl-some" in page.get_attribute("[data-testid=article-text] mark >> nth=1", "class")
    shot("side_by_side")
    page.click("[data-pick=ana]")
    page.wait_for_selector("[data-testid=gold-status]")
    assert "adjudicated" in page.inner_text("[data-testid=gold-status]")
    assert "rita" in page.inner_text("[data-testid=gold-status]")
    shot("adjudicated")

    page.click("text=← Queue")
    page.click("button:has-text('Accept all unanimous')")
    page.wait_for_selector("text=1 unanimous article accepted")
    page.wait_for_selector("[data-testid=queue-empty]")

    # --- the dashboard shows the agreement, refreshed in place
    page.click(".m-tabs >> text=Dashboard")
    page.wait_for_selector("[data-testid=agreement] [data-target=western-troops]")
    agreement = page.inner_text("[data-testid=agreement]")
    assert "Western troops in Ukraine" in agreement and "2 articles with two or more annotations" in agreement
    assert "ana" in page.inner_text("[data-testid=vs-gold]")
    assert page.locator("canvas").count() >= 4
    shot("dashboard")
    assert not page.errors, page.errors

    # --- the export carries the gold
    gold = {g.article.external_id: g for g in Gold.objects.filter(article__project=project)}
    assert gold["kyiv-1"].decided_by == rita and gold["kyiv-1"].stance == {"western-troops": "FAVOR"}
    client = APIClient()
    client.force_authenticate(admin)
    job = client.post(f"/api/v1/projects/{project.pk}/exports/", {"format": "jsonl", "options": {"labels": "gold"}},
                      format="json").json()
    detail = client.get(f"/api/v1/exports/{job['id']}/").json()
    assert detail["status"] == "done", detail
    body = b"".join(client.get(f"/api/v1/exports/{job['id']}/download/").streaming_content).decode()
    rows = {r["id"]: r for r in map(json.loads, body.splitlines())}
    assert rows["kyiv-1"]["gold"]["stance"] == {"western-troops": "FAVOR"}
    assert rows["kyiv-1"]["gold"]["method"] == "adjudicated"
    assert [e["text"] for e in rows["kyiv-1"]["entities"]] == ["Emmanuel Macron"]  # ana's spans, picked
    assert rows["kyiv-2"]["gold"]["stance"] == {"western-troops": "NEUTRAL"}
