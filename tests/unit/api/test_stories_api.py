"""Issue 17 REST: stories, duplicate groups, comparison data, settings — who may call, what a
bad body gets, and that the answers say what the screens need."""

from __future__ import annotations

import pytest

from annotate.models import AuditEvent, Story, StoryArticle
from annotate.services.imports import articles_import
from annotate.services.stories import stories_recompute
from tests.unit.api.test_permission_matrix import CALLERS, expect
from tests.unit.api.world import make_world
from tests.unit.stories.corpus import DEMO, WIKINEWS, edited, records, write_jsonl

pytestmark = pytest.mark.django_db

READERS = ("admin", "reviewer", "exporter", "superuser")
ADMIN = ("admin", "superuser")


def _world(tmp_path):
    w = make_world(articles=0)
    articles_import(project=w.project, source=DEMO, queue_preannotation=False, queue_stories=False)
    articles_import(project=w.project, source=WIKINEWS, queue_preannotation=False, queue_stories=False)
    repost = edited(records(DEMO)[2], new_id="repost", kind="boilerplate")
    articles_import(project=w.project, source=write_jsonl(tmp_path / "r.jsonl", [repost]),
                    queue_preannotation=False, queue_stories=False)
    stories_recompute(project=w.project)
    w.story = Story.objects.get(project=w.project, links__article__external_id="seed-000")
    w.other = Story.objects.filter(project=w.project).exclude(pk=w.story.pk).order_by("id")
    return w


def P(w):
    return f"/api/v1/projects/{w.project.pk}/"


CASES = [
    ("list", "get", lambda w: P(w) + "stories/", None, expect(200, allowed=READERS)),
    ("detail", "get", lambda w: P(w) + f"stories/{w.story.pk}/", None, expect(200, allowed=READERS)),
    ("compare", "get", lambda w: P(w) + f"stories/{w.story.pk}/compare/", None, expect(200, allowed=READERS)),
    ("stance by outlet", "get", lambda w: P(w) + "stories/stance-by-outlet/", None, expect(200, allowed=READERS)),
    ("duplicates", "get", lambda w: P(w) + "duplicates/", None, expect(200, allowed=READERS)),
    ("settings", "get", lambda w: P(w) + "stories/settings/", None, expect(200, allowed=READERS)),
    ("settings patch", "patch", lambda w: P(w) + "stories/settings/", lambda w: {"story_window_days": 3},
     expect(200, allowed=ADMIN)),
    ("rename", "patch", lambda w: P(w) + f"stories/{w.story.pk}/", lambda w: {"name": "Putin warns the West"},
     expect(200, allowed=ADMIN)),
    ("merge", "post", lambda w: P(w) + "stories/merge/", lambda w: {"stories": [w.other[0].pk, w.other[1].pk]},
     expect(200, allowed=ADMIN)),
    ("split", "post", lambda w: P(w) + f"stories/{w.story.pk}/split/",
     lambda w: {"articles": [w.story.links.order_by("article_id").first().article_id]}, expect(201, allowed=ADMIN)),
    ("recompute", "post", lambda w: P(w) + "stories/recompute/", None, expect(202, allowed=ADMIN)),
]


@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_who_may_call(name, method, url, body, expected, tmp_path):
    w = _world(tmp_path)
    for caller in CALLERS:
        client = w.client(None if caller == "anonymous" else caller)
        response = getattr(client, method)(url(w), body(w) if body else None, format="json")
        assert response.status_code == expected[caller], (caller, name, response.content[:300])
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}
        if response.status_code < 300 and method != "get":
            w = _world(tmp_path)  # every write on a fresh world


def test_compare_shows_every_outlet_of_the_story_and_the_duplicate(tmp_path):
    w = _world(tmp_path)
    admin = w.client("admin")
    detail = admin.get(P(w) + f"stories/{w.story.pk}/").json()
    assert {a["id"] for a in detail["articles"]} == {f"seed-00{i}" for i in range(5)} | {"repost"}
    repost = next(a for a in detail["articles"] if a["id"] == "repost")
    assert repost["duplicate_of"] == next(a["article_id"] for a in detail["articles"] if a["id"] == "seed-002")
    data = admin.get(P(w) + f"stories/{w.story.pk}/compare/").json()
    assert len(data["articles"]) == 6 and len(data["outlets"]) == 6  # the demo has no sources: one outlet each
    assert {a["labels_from"] for a in data["articles"]} == {None}  # nobody annotated: no labels, not a guess
    groups = admin.get(P(w) + "duplicates/").json()
    assert [(g["representative"]["id"], [d["id"] for d in g["duplicates"]]) for g in groups] == [("seed-002", ["repost"])]


def test_bad_bodies_are_400_naming_the_field_and_change_nothing(tmp_path):
    w = _world(tmp_path)
    admin = w.client("admin")
    before = sorted(StoryArticle.objects.values_list("article_id", "story_id"))
    cases = [
        ("stories/merge/", "post", {"stories": [w.story.pk]}, "stories"),
        ("stories/merge/", "post", {"stories": [w.story.pk, 10**9]}, None),
        ("stories/merge/", "post", {"stories": [w.story.pk, "x"]}, "stories[1]"),
        (f"stories/{w.story.pk}/split/", "post", {"articles": [True]}, "articles[0]"),
        (f"stories/{w.story.pk}/split/", "post", {"articles": [10**9]}, "articles"),
        (f"stories/{w.story.pk}/split/", "post",
         {"articles": list(w.story.links.values_list("article_id", flat=True))}, "articles"),
        (f"stories/{w.story.pk}/", "patch", {"name": ""}, "name"),
        (f"stories/{w.story.pk}/", "patch", {"title": "x"}, "name"),
        ("stories/settings/", "patch", {"duplicate_threshold": 2}, "duplicate_threshold"),
        ("stories/settings/", "patch", {"duplicate_policy": "some"}, "duplicate_policy"),
        ("stories/settings/", "patch", {"colour": "red"}, "colour"),
    ]
    for path, method, body, field in cases:
        response = getattr(admin, method)(P(w) + path, body, format="json")
        if field is None:
            assert response.status_code == 404, (path, body)
            continue
        assert response.status_code == 400, (path, body, response.content)
        assert field in response.json()["error"]["details"], (path, body, response.json())
    assert sorted(StoryArticle.objects.values_list("article_id", "story_id")) == before
    assert not AuditEvent.objects.filter(project=w.project, action__startswith="stor").exists()


def test_story_endpoints_are_in_the_schema():
    from tests.unit.api.test_permission_matrix import documented_operations

    ops = documented_operations()
    for method, path in [("get", "/api/v1/projects/{project_id}/stories/"),
                         ("post", "/api/v1/projects/{project_id}/stories/merge/"),
                         ("post", "/api/v1/projects/{project_id}/stories/{story_id}/split/"),
                         ("patch", "/api/v1/projects/{project_id}/stories/{story_id}/"),
                         ("get", "/api/v1/projects/{project_id}/stories/{story_id}/compare/"),
                         ("get", "/api/v1/projects/{project_id}/duplicates/"),
                         ("patch", "/api/v1/projects/{project_id}/stories/settings/")]:
        op = ops[(method, path)]
        assert "**Who may call:**" in op["description"]
        assert "200" in op["responses"] or "201" in op["responses"] or "202" in op["responses"]


def test_the_dashboards_stance_by_outlet_agrees_with_each_story_screen_in_one_pass(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotate.models import Article, Gold
    from annotate.services.stories import story_merge

    w = _world(tmp_path)
    for external_id, label in (("seed-000", "AGAINST"), ("seed-001", "AGAINST"), ("seed-003", "NEUTRAL")):
        Gold.objects.create(article=Article.objects.get(project=w.project, external_id=external_id),
                            stance={"western-troops": label}, frames=[], method=Gold.Method.ADJUDICATED)
    admin = w.client("admin")
    url = P(w) + "stories/stance-by-outlet/"
    admin.get(P(w) + "stories/")  # the token's first use writes its last-used time: not counted below
    with CaptureQueriesContext(connection) as one_story:
        assert admin.get(url).status_code == 200
    story_merge(project=w.project, story_ids=[w.other[0].pk, w.other[1].pk])  # a second multi-outlet story
    with CaptureQueriesContext(connection) as two_stories:
        panel = admin.get(url).json()
    assert len(panel) == 2
    # The number of statements does not grow with the number of stories on the panel.
    assert len(two_stories.captured_queries) == len(one_story.captured_queries)
    for entry in panel:
        compare = admin.get(P(w) + f"stories/{entry['id']}/compare/").json()
        assert entry["outlets"] == [{"outlet": o["outlet"], "stance": o["stance"]} for o in compare["outlets"]]
    demo = next(e for e in panel if e["id"] == w.story.pk)
    counts = [o["stance"].get("western-troops") for o in demo["outlets"]]
    assert counts.count({"AGAINST": 1}) == 2 and counts.count({"NEUTRAL": 1}) == 1
