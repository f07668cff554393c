"""Parallel reviewers writing one article's gold on PostgreSQL (issue 14 point 6).

Each client is a thread with its own connection through the real API; data is committed, so the
article row lock is real. Without a version every write is applied whole, one after the other;
with the version each read, exactly one of the writers that saw the same version wins and the
others get 409 stale_write.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotate.models import AuditEvent, Gold, Membership
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, TargetFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 8
TEXT = " ".join(f"w{i:02d}" for i in range(40))  # 40 words, 3 characters + a space each


def run(users, work):
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def body(i, user):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait()
            work(i, client)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung (deadlock?)"
    assert not errors, errors


@pytest.fixture
def setup(transactional_db):
    project = ProjectFactory(overlap=2)
    TargetFactory(project=project, key="troops")
    article = ArticleFactory(project=project, text=TEXT)
    users = [MembershipFactory(project=project, role=Membership.Role.REVIEWER).user for _ in range(CLIENTS)]
    return project, article, users, f"/api/v1/projects/{project.pk}/adjudication/articles/{article.pk}/"


def test_parallel_span_adds_are_serialised_and_none_is_lost(setup):
    project, article, users, url = setup
    codes: list[int] = []

    def work(i, client):
        for k in range(3):  # each client adds three different words: 24 spans in all
            word = i * 3 + k
            r = client.post(f"{url}gold/spans/", {"start": word * 4, "end": word * 4 + 3, "label": "PERSON"},
                            format="json")
            codes.append(r.status_code)
            assert r.status_code == 201, r.content

    run(users, work)
    gold = Gold.objects.get(article=article)
    assert gold.spans.count() == CLIENTS * 3
    assert gold.version == CLIENTS * 3  # one version per write: every write saw the one before
    events = AuditEvent.objects.filter(object_type="gold").order_by("id")
    assert [e.action for e in events][:1] == ["gold.create"] and events.count() == CLIENTS * 3
    # Each event's "after" is the next one's "before": the writes happened one at a time.
    pairs = list(events.values_list("before", "after"))
    assert all(pairs[n][1] == pairs[n + 1][0] for n in range(len(pairs) - 1))


def test_writers_that_saw_the_same_version_get_one_winner_and_409s(setup):
    project, article, users, url = setup
    first = APIClient()
    first.force_authenticate(users[0])
    assert first.post(f"{url}gold/spans/", {"start": 0, "end": 3, "label": "PERSON", "version": 0},
                      format="json").status_code == 201
    codes: list[int] = []

    def work(i, client):
        r = client.post(f"{url}decide/", {"method": "edit", "version": 1, "stance": {}, "frames": [], "spans": [
            {"start": (i + 1) * 4, "end": (i + 1) * 4 + 3, "label": "PERSON"}]}, format="json")
        codes.append(r.status_code)
        assert r.status_code in (200, 409), r.content
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "stale_write"

    run(users, work)
    assert sorted(codes) == [200] + [409] * (CLIENTS - 1)
    gold = Gold.objects.get(article=article)
    assert gold.version == 2 and gold.spans.count() == 1
