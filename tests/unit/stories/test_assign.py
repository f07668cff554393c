"""Issue 17, incremental stories: new articles join the existing stories without a regroup
(annotate.services.stories.stories_assign_new), by the rule the full regroup uses."""

from __future__ import annotations

import pytest

from annotate.models import Article, Story, StoryArticle
from annotate.services.imports import articles_import
from annotate.services.stories import stories_assign_new, stories_recompute, story_rename
from tests.factories import ProjectFactory

from .corpus import DEMO, WIKINEWS, edited, records, write_jsonl

pytestmark = pytest.mark.django_db


def _import(project, path, **kw):
    kw.setdefault("queue_stories", False)
    return articles_import(project=project, source=path, queue_preannotation=False, **kw)


def _partition(project) -> set[frozenset[str]]:
    members: dict[int, set[str]] = {}
    for ext, story in Article.objects.filter(project=project).values_list("external_id", "story_link__story_id"):
        assert story is not None, f"{ext} is in no story"
        members.setdefault(story, set()).add(ext)
    return {frozenset(m) for m in members.values()}


def _story_of(project) -> dict[str, int]:
    return dict(Article.objects.filter(project=project).values_list("external_id", "story_link__story_id"))


def test_incremental_assignment_matches_the_full_regroup_on_demo_and_an_edited_repost(tmp_path):
    project = ProjectFactory()
    _import(project, DEMO)
    _import(project, WIKINEWS)
    stories_recompute(project=project)
    before = _story_of(project)
    names = dict(Story.objects.filter(project=project).values_list("pk", "name"))
    demo = records(DEMO)
    repost = edited(edited(demo[0], new_id="repost-0", kind="headline"), new_id="repost-0", kind="boilerplate")
    copy = edited(records(WIKINEWS)[3], new_id="wikinews-copy", kind="sentences")
    _import(project, write_jsonl(tmp_path / "repost.jsonl", [repost, copy]))

    result = stories_assign_new(project=project)

    assert result["articles"] == 2 and result["joined"] == 2 and result["new_stories"] == 0
    after = _story_of(project)
    # Nothing that was in a story moved: the new articles joined, no regroup happened.
    assert {k: after[k] for k in before} == before
    assert after["repost-0"] == before["seed-000"]
    assert len({after[f"seed-00{i}"] for i in range(5)} | {after["repost-0"]}) == 1  # all five outlets, one story
    assert after["wikinews-copy"] == before[records(WIKINEWS)[3]["id"]]
    # The stories that gained an article keep their names (a re-post's shorter headline does not rename one).
    assert dict(Story.objects.filter(project=project).values_list("pk", "name")) == names
    incremental = _partition(project)
    stories_recompute(project=project)
    assert _partition(project) == incremental
    assert stories_assign_new(project=project)["articles"] == 0  # a redelivered task finds nothing to do


def test_incremental_assignment_of_a_fresh_project_groups_like_a_recompute():
    project = ProjectFactory()
    _import(project, DEMO)
    _import(project, WIKINEWS)
    result = stories_assign_new(project=project)
    assert result["context"] == 0 and result["joined"] == 0
    incremental = _partition(project)
    stories_recompute(project=project)
    assert _partition(project) == incremental
    assert StoryArticle.objects.filter(article__external_id="seed-001", undated=True).exists()


def test_incremental_assignment_never_touches_a_manual_story(tmp_path):
    project = ProjectFactory()
    _import(project, DEMO)
    stories_recompute(project=project)
    (story_id,) = set(_story_of(project).values())
    story_rename(project=project, story_id=story_id, name="Putin on Western troops")
    repost = edited(records(DEMO)[0], new_id="repost-0", kind="boilerplate")
    _import(project, write_jsonl(tmp_path / "repost.jsonl", [repost]))

    result = stories_assign_new(project=project)

    assert result["new_stories"] == 1 and result["joined"] == 0
    manual = Story.objects.get(pk=story_id)
    assert manual.manual and manual.name == "Putin on Western troops"
    assert sorted(manual.links.values_list("article__external_id", flat=True)) == [f"seed-00{i}" for i in range(5)]
    assert _story_of(project)["repost-0"] != story_id


def test_an_import_of_new_articles_assigns_them_without_a_regroup(tmp_path, django_capture_on_commit_callbacks):
    project = ProjectFactory()
    _import(project, DEMO)
    stories_recompute(project=project)
    (story_id,) = set(_story_of(project).values())
    repost = edited(records(DEMO)[2], new_id="repost-2", kind="headline")
    with django_capture_on_commit_callbacks(execute=True):  # the task runs in-process, after the commit
        _import(project, write_jsonl(tmp_path / "repost.jsonl", [repost]), queue_stories=True)
    assert _story_of(project)["repost-2"] == story_id
