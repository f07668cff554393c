"""Model in the loop in real Chromium: the admin sees the trained model's metrics and learning
curve in /manage/; the annotator sees a stance suggestion (not pre-selected) and accepts it with 0."""

from __future__ import annotations

import io
import json
import random
import re

import pytest

from annotate.label_schema import default_label_schema
from annotate.models import Annotation, Article, ArticlePrediction, Assignment, Membership, SuggestionExposure
from annotate.services import training
from annotate.services.imports import articles_import
from tests.benchmarks.make_stance_set import article, background_sentences
from tests.factories import MembershipFactory, ProjectFactory, TargetFactory, UserFactory

from .conftest import login
from .helpers import assert_accessible, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TARGETS = ("nuclear-power", "carbon-tax", "remote-work")


def _jsonl(rows) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


@pytest.fixture
def world(db):
    project = ProjectFactory(name="Energy and work", overlap=1, label_schema={
        **default_label_schema(), "frames_required": "none", "primary_frame_required": False})
    for i, key in enumerate(TARGETS):
        TargetFactory(project=project, key=key, name=key.replace("-", " "), position=i)
    admin = UserFactory(username="ada")
    MembershipFactory(project=project, user=admin, role=Membership.Role.ADMIN)
    annotator = UserFactory(username="ana")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    rng, background = random.Random(5), background_sentences()
    articles_import(project=project, source=_jsonl([article(rng, i, background) for i in range(60)]),
                    filename="labelled.jsonl", queue_preannotation=False, queue_model=False)
    model = training.model_train(project=project)
    fresh = [{k: v for k, v in article(rng, 500 + i, background).items() if k != "gold"} for i in range(2)]
    report = articles_import(project=project, source=_jsonl(fresh), filename="fresh.jsonl",
                             queue_preannotation=False, queue_model=False)
    Article.objects.filter(pk__in=report.article_ids).update(priority=5)  # the queue hands these out first
    training.predictions_compute(project=project, article_ids=report.article_ids)
    # Frames the screen must show as suggestions whatever the small model predicted.
    first, second = project.frames[:2]
    ArticlePrediction.objects.filter(article_id__in=report.article_ids).update(
        frames=[first, second], primary_frame=second, frame_probabilities={first: 0.81, second: 0.64})
    return {"project": project, "model": model, "annotator": annotator}


def test_dashboard_shows_the_model_and_the_annotator_accepts_a_suggestion_by_key(live_server, page, world):
    base, project = live_server.url, world["project"]
    login(page, base, "ada")
    page.goto(f"{base}/manage/projects/{project.pk}/models")
    page.wait_for_selector("[data-testid=model-metrics]")
    metrics = page.inner_text("[data-testid=model-metrics]")
    assert "Version 1 (active)" in metrics and "carbon-tax" in metrics and "Learning curve" in metrics
    assert page.locator("[data-testid=model-metrics] canvas").count() == 1
    assert "ready" in page.inner_text("[data-testid=model-versions]")
    assert_accessible(page, "[data-testid=models]")
    page.shot("models_tab")

    page.context.clear_cookies()
    login(page, base, "ana")
    page.wait_for_selector(".project-card")
    page.click(".project-card .btn")
    page.wait_for_selector(".queue-card")
    page.click(".queue-card .btn-primary")
    page.wait_for_url(re.compile(r"/assignments/\d+/$"))
    page.wait_for_selector("[data-testid=stance-suggestion]")
    assignment = Assignment.objects.get(project=project, annotator=world["annotator"])
    suggested = training.stance_suggestions(assignment=assignment)["stance"]
    first = TARGETS[0]
    first_box = page.locator("fieldset.target").first
    hint = first_box.locator("[data-testid=stance-suggestion]").inner_text()
    assert "suggested" in hint.lower() and suggested[first]["label"].lower() in hint and "%" in hint
    # A suggestion, not a choice: nothing is selected until the annotator accepts.
    assert first_box.locator("input[type=radio]:checked").count() == 0
    page.shot("suggestion_shown")
    page.keyboard.press("0")
    checked = first_box.locator("input[type=radio]:checked")
    checked.wait_for()
    assert checked.get_attribute("value") == suggested[first]["label"]
    wait_saved(page)
    assert Annotation.objects.get(assignment=assignment).stance[first] == suggested[first]["label"]
    exposure = SuggestionExposure.objects.get(assignment=assignment)
    assert exposure.shown and exposure.model_version == world["model"].version
    page.shot("suggestion_accepted")

    # The suggested frames: beside each its confidence (the primary one says so), none ticked;
    # Shift+0 ticks them and makes the suggested primary frame primary.
    first_frame, second_frame = project.frames[:2]
    frames = page.locator("section.frames")
    hints = frames.locator("[data-testid=frame-suggestion]")
    assert hints.count() == 2
    assert "81%" in hints.nth(0).inner_text() and "suggested primary" in hints.nth(1).inner_text().lower()
    assert frames.locator("input[type=checkbox]:checked").count() == 0
    assert_accessible(page, "section.frames")
    page.keyboard.press("Shift+0")
    frames.locator("li.on").nth(1).wait_for()
    assert [t.strip() for t in frames.locator("li.on label").all_inner_texts()] == [
        t.strip() for t in frames.locator("li", has=page.locator("[data-testid=frame-suggestion]")).locator("label").all_inner_texts()]
    assert frames.locator("li.on .star.is-primary").count() == 1
    assert page.locator("[data-testid=accept-frames]").count() == 0  # nothing left to accept
    wait_saved(page)
    saved = Annotation.objects.get(assignment=assignment)
    assert sorted(saved.frames) == sorted([first_frame, second_frame]) and saved.primary_frame == second_frame
    page.shot("frames_accepted")
