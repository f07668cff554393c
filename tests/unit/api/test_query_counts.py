"""No N+1 (G13): list endpoints and `next` run a fixed number of queries whatever the row count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.models import Membership
from annotate.services.annotations import annotation_update
from annotate.services.queue import assignment_next
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, SpanFactory
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def grow(w, n: int) -> None:
    """n more articles, each with a suggestion and an annotated assignment, and n more projects."""
    for _ in range(n):
        article = ArticleFactory(project=w.project)
        SpanFactory(article=article)
        user = MembershipFactory(project=w.project, role=Membership.Role.ANNOTATOR).user
        a = assignment_next(project=w.project, user=user)
        annotation_update(assignment=a, by=user, version=1, replace=False,
                          fields={"spans": [{"start": 0, "end": 5, "label": "PERSON"}]})
        MembershipFactory(project=ProjectFactory(), user=w.users["reviewer"], role=Membership.Role.REVIEWER)


def count(client, method, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url)
    assert response.status_code in (200, 204), response.content
    return len(ctx.captured_queries)


LISTS = [
    ("reviewer", "get", "/api/v1/me/"),
    ("reviewer", "get", "/api/v1/projects/"),
    ("reviewer", "get", "/api/v1/projects/{p}/articles/"),
    ("reviewer", "get", "/api/v1/projects/{p}/assignments/"),
    ("reviewer", "get", "/api/v1/projects/{p}/annotations/"),
    ("reviewer", "get", "/api/v1/projects/{p}/members/"),
    ("reviewer", "get", "/api/v1/projects/{p}/stats/"),
]


@pytest.mark.parametrize(("who", "method", "url"), LISTS, ids=[u for _, _, u in LISTS])
def test_list_query_count_does_not_grow_with_rows(who, method, url):
    w = make_world(articles=1)
    client = w.client(who)
    url = url.format(p=w.project.pk)
    client.get("/api/v1/me/")  # a token's first use is written down (then at most once a minute)
    grow(w, 2)
    small = count(client, method, url)
    grow(w, 10)
    large = count(client, method, url)
    assert large == small
    assert large <= 8


def test_next_and_task_detail_are_constant_and_small(django_assert_max_num_queries):
    """The annotator's hot path (tests/benchmarks/bench_api.py): each statement here is one round
    trip under load, so these bounds are exact. In tests every transaction adds 2 (savepoint).
    SQLite has no row locks and no data-modifying CTEs: a write there takes the database lock with
    one more statement and writes two rows with two statements."""
    sqlite = 0 if connection.vendor == "postgresql" else 1
    w = make_world(articles=30)
    for a in w.articles:
        SpanFactory.create_batch(3, article=a)
    client = w.client("annotator")
    client.get("/api/v1/me/")  # a token's first use is written down (then at most once a minute)
    url = f"/api/v1/projects/{w.project.pk}/tasks/next/"
    # New assignment: token + role + project, user lock, open check, expired sweep, candidate
    # (with its active-assignment count and suggestions), assignment + annotation insert.
    with django_assert_max_num_queries(8 + sqlite):
        task = client.post(url).json()
    with django_assert_max_num_queries(6):  # the open one (with spans and suggestions) comes back, lease renewed
        assert client.post(url).json()["id"] == task["id"]
    with django_assert_max_num_queries(3):
        client.get(f"/api/v1/assignments/{task['id']}/")
    doc = {"version": 1, "stance": {"sanctions": "FAVOR"}, "frames": ["Political"],
           "spans": [{"start": 0, "end": 5, "label": "PERSON"}, {"start": 6, "end": 9, "label": "ORG"}]}
    # Token; lock with project, annotation, spans, targets, text length; insert spans and update both
    # rows in one statement (SQLite: three).
    with django_assert_max_num_queries(5 + 3 * sqlite):
        r = client.put(f"/api/v1/assignments/{task['id']}/annotation/", doc, format="json")
    assert r.status_code == 200
    with django_assert_max_num_queries(5 + 2 * sqlite):  # the same spans again, without ids: nothing to insert
        r = client.put(f"/api/v1/assignments/{task['id']}/annotation/", {**doc, "version": 2}, format="json")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()["spans"]] == [s["id"] for s in client.get(
        f"/api/v1/assignments/{task['id']}/annotation/").json()["spans"]]
    doc["stance"]["western-troops"] = "AGAINST"
    doc["primary_frame"] = "Political"
    client.put(f"/api/v1/assignments/{task['id']}/annotation/", {**doc, "version": 3}, format="json")
    with django_assert_max_num_queries(5 + 2 * sqlite):  # token, lock (+ article, spans, suggestions), update both
        r = client.post(f"/api/v1/assignments/{task['id']}/submit/", {"version": 4}, format="json")
    assert r.status_code == 200, r.content
