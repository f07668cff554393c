"""20 parallel clients pull `next` on PostgreSQL until the queue is empty (issue 4).

Each client is a thread with its own database connection, talking to the real API through
Django's test client; data is committed (transactional_db), so the row locks are real.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotate.models import Assignment, Membership
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, UserFactory, api_key

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 20
ARTICLES = 60
OVERLAP = 3


def run_clients(users, project, work, *, token: str | None = None):
    """`token`: authenticate with this API token key (the path where `next` locks the caller's
    row in the token lookup) instead of forcing the user in."""
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def body(user):
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        else:
            client.force_authenticate(user)
        try:
            barrier.wait()
            work(client, user)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung (deadlock?)"
    assert not errors, errors


@pytest.mark.parametrize("sweep_every", [0, 5], ids=["sweep-each-call", "combined-read"])
def test_20_clients_drain_the_queue_without_overassigning(transactional_db, settings, sweep_every):
    """`sweep_every` > 0: most calls take the combined open-assignment/candidate read."""
    settings.QUEUE_SWEEP_SECONDS = sweep_every
    project = ProjectFactory(overlap=OVERLAP, label_schema={
        "version": 1, "stance_labels": ["FAVOR", "AGAINST"], "stance_ordered": False, "frames": ["Political"],
        "frames_required": "none", "primary_frame_required": False, "span_labels": ["PERSON"]})
    articles = ArticleFactory.create_batch(ARTICLES, project=project)
    for i, a in enumerate(articles):  # some priorities so that the order is not just the id order
        if i % 7 == 0:
            a.priority = 1
            a.save(update_fields=["priority"])
    users = [MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user for _ in range(CLIENTS)]
    pulled: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(client, user):
        url = f"/api/v1/projects/{project.pk}/tasks/next/"
        for _ in range(ARTICLES + 5):
            r = client.post(url)
            if r.status_code == 204:
                return
            assert r.status_code == 200, r.content
            task = r.json()
            with lock:
                pulled.append((user.pk, task["article"]["id"]))
            r = client.post(f"/api/v1/assignments/{task['id']}/submit/", {"version": task["annotation"]["version"]},
                            format="json")
            assert r.status_code == 200, r.content
        raise AssertionError("client never saw an empty queue")

    run_clients(users, project, work)

    per_article = Counter(article for _, article in pulled)
    assert len(pulled) == len(set(pulled)), "an annotator got the same article twice"
    assert set(per_article) == {a.pk for a in articles}, "an article was lost"
    assert set(per_article.values()) == {OVERLAP}, "an article went to more or fewer than `overlap` annotators"
    submitted = Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED)
    assert submitted.count() == ARTICLES * OVERLAP
    assert not Assignment.objects.filter(project=project).exclude(status=Assignment.Status.SUBMITTED).exists()


@pytest.mark.parametrize("sweep_every", [0, 5], ids=["sweep-each-call", "combined-read"])
@pytest.mark.parametrize("token", [False, True], ids=["session", "token"])
def test_one_user_double_clicking_next_gets_one_assignment(transactional_db, token, settings, sweep_every):
    settings.QUEUE_SWEEP_SECONDS = sweep_every
    project = ProjectFactory(overlap=1)
    ArticleFactory.create_batch(5, project=project)
    user = UserFactory()
    MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    got: list[int] = []

    def work(client, _user):
        r = client.post(f"/api/v1/projects/{project.pk}/tasks/next/")
        assert r.status_code == 200, r.content
        got.append(r.json()["id"])

    run_clients([user] * 8, project, work, token=api_key(user))
    assert len(set(got)) == 1
    assert Assignment.objects.filter(annotator=user).count() == 1
