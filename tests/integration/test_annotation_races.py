"""Optimistic locking under real concurrency on PostgreSQL (issue 13, point 1).

N clients send a write based on the same `version` of one annotation at the same moment: exactly
one may win (200), every other one gets 409 and changes nothing. Each client is a thread with its
own database connection, talking to the real API through Django's test client; data is committed
(transactional_db), so the row locks and READ COMMITTED re-checks are the real ones. Released
together by a barrier; several rounds each, because one round may happen to run one after the other.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotate.models import Annotation, Assignment, Membership, Span
from tests.factories import (
    ArticleFactory,
    MembershipFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    api_key,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUNDS = 8
SUBMIT_ROUNDS = 16


def race(token: str, requests: list) -> list:
    """Send `requests` (callables taking an APIClient, returning a response) at once, one thread
    and database connection each; the answers in the same order."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def body(i, send):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait(timeout=30)
            answers[i] = send(client)
        except BaseException as exc:  # reported by the main thread
            answers[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i, send)) for i, send in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung (deadlock?)"
    errors = [a for a in answers if isinstance(a, BaseException)]
    assert not errors, errors
    return answers


@pytest.fixture
def annotator(transactional_db):
    project = ProjectFactory(overlap=1)
    TargetFactory(project=project, key="troops", position=0)
    TargetFactory(project=project, key="sanctions", position=1)
    ArticleFactory.create_batch(SUBMIT_ROUNDS + 1, project=project)
    user = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user
    token = api_key(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return project, token, client


def next_task(project, client) -> dict:
    r = client.post(f"/api/v1/projects/{project.pk}/tasks/next/")
    assert r.status_code == 200, r.content
    return r.json()


def one_winner(answers, *, loser_codes=("stale_write",)) -> int:
    """The index of the only 200 (or 201); every other answer is a 409 with one of `loser_codes`."""
    statuses = [r.status_code for r in answers]
    winners = [i for i, s in enumerate(statuses) if s in (200, 201)]
    assert len(winners) == 1, f"{len(winners)} of {len(answers)} writers at one version won: {statuses}"
    for i, r in enumerate(answers):
        if i != winners[0]:
            assert r.status_code == 409 and r.json()["error"]["code"] in loser_codes, (r.status_code, r.content)
    return winners[0]


@pytest.mark.parametrize("writers", [2, 20])
def test_issue13_concurrent_patches_at_one_version_one_wins(annotator, writers):
    project, token, client = annotator
    task = next_task(project, client)
    url = f"/api/v1/assignments/{task['id']}/annotation/"
    version = task["annotation"]["version"]
    for round_ in range(ROUNDS):
        notes = [f"round {round_} writer {i}" for i in range(writers)]
        answers = race(token, [
            (lambda c, n=n, v=version: c.patch(url, {"version": v, "notes": n}, format="json")) for n in notes])
        won = one_winner(answers)
        assert answers[won].json()["version"] == version + 1
        stored = Annotation.objects.get(assignment_id=task["id"])
        assert (stored.version, stored.notes) == (version + 1, notes[won]), "the winner's write was lost"
        version = stored.version


def test_issue13_concurrent_span_puts_store_exactly_one_clients_set(annotator):
    project, token, client = annotator
    task = next_task(project, client)
    url = f"/api/v1/assignments/{task['id']}/annotation/"
    r = client.put(url, {"version": 1, "spans": [{"start": 0, "end": 8, "label": "PERSON"}]}, format="json")
    assert r.status_code == 200, r.content
    version = r.json()["version"]
    for round_ in range(ROUNDS):
        # Every client keeps a different span of the previous set's shape and adds its own two.
        sets = [[{"start": 0, "end": 8, "label": "PERSON"}, {"start": 9 + i, "end": 15 + i, "label": "PERSON"},
                 {"start": 30 + round_, "end": 40 + i, "label": "ORG"}] for i in range(2)]
        answers = race(token, [
            (lambda c, s=s, v=version: c.put(url, {"version": v, "spans": s}, format="json")) for s in sets])
        won = one_winner(answers)
        stored = sorted((s.start, s.end, s.label) for s in Span.objects.filter(annotation__assignment_id=task["id"]))
        assert stored == sorted((s["start"], s["end"], s["label"]) for s in sets[won]), \
            "the stored span set is not the winner's"
        version = answers[won].json()["version"]


def test_issue13_submit_racing_a_stance_clearing_autosave_never_submits_incomplete(annotator):
    project, token, client = annotator
    for round_ in range(SUBMIT_ROUNDS):
        task = next_task(project, client)
        url = f"/api/v1/assignments/{task['id']}/annotation/"
        r = client.patch(url, {"version": task["annotation"]["version"], "stance": {"troops": "FAVOR",
                         "sanctions": "AGAINST"}, "frames": ["Political"], "primary_frame": "Political"}, format="json")
        assert r.status_code == 200, r.content
        version = r.json()["version"]
        # The submit leaves a little later in some rounds: the dangerous order is the autosave
        # committing while the submit waits for the lock.
        delay = (0, 0.001, 0.002, 0.004)[round_ % 4]
        submit_url = f"/api/v1/assignments/{task['id']}/submit/"

        def submit_later(c, url=submit_url, version=version, delay=delay):
            time.sleep(delay)
            return c.post(url, {"version": version}, format="json")

        submit, autosave = race(token, [
            submit_later,
            lambda c, url=url, version=version: c.patch(url, {"version": version, "stance": {"sanctions": "AGAINST"}},
                                                        format="json"),
        ])
        assignment = Assignment.objects.get(pk=task["id"])
        stance = Annotation.objects.get(assignment=assignment).stance
        if assignment.status == Assignment.Status.SUBMITTED:
            assert set(stance) == {"troops", "sanctions"}, f"submitted without a required stance: {stance}"
        one_winner([submit, autosave], loser_codes=("stale_write", "assignment_closed"))
        if assignment.status != Assignment.Status.SUBMITTED:
            assert autosave.status_code == 200
            assert stance == {"sanctions": "AGAINST"}
            # Leave the queue with nothing open: the next round gets a new article.
            r = client.post(f"/api/v1/assignments/{task['id']}/skip/", {"reason": "next round"}, format="json")
            assert r.status_code == 200, r.content


def test_issue13_every_kind_of_annotation_write_at_one_version_one_wins(annotator):
    """Span endpoints, suggestion accept/reject and autosaves, all at once at one version."""
    project, token, client = annotator
    task = next_task(project, client)
    base = f"/api/v1/assignments/{task['id']}"
    suggestions = [SpanFactory(article_id=task["article"]["id"], start=20, end=26, label="PERSON"),
                   SpanFactory(article_id=task["article"]["id"], start=30, end=36, label="ORG")]
    r = client.put(f"{base}/annotation/", {"version": 1, "spans": [{"start": 0, "end": 8, "label": "PERSON"}]},
                   format="json")
    assert r.status_code == 200, r.content
    version, span_id = r.json()["version"], r.json()["spans"][0]["id"]
    for _ in range(ROUNDS):
        writes = [
            lambda c, v=version: c.post(f"{base}/annotation/spans/", {"version": v, "start": 9, "end": 15,
                                                                      "label": "PERSON"}, format="json"),
            lambda c, v=version, s=span_id: c.patch(f"{base}/annotation/spans/{s}/", {"version": v, "label": "ORG"},
                                                    format="json"),
            lambda c, v=version: c.post(f"{base}/suggestions/{suggestions[0].pk}/accept/", {"version": v},
                                        format="json"),
            lambda c, v=version: c.post(f"{base}/suggestions/{suggestions[1].pk}/reject/", {"version": v},
                                        format="json"),
            lambda c, v=version: c.patch(f"{base}/annotation/", {"version": v, "notes": "autosave"}, format="json"),
        ]
        answers = race(token, writes)
        won = one_winner(answers)
        stored = Annotation.objects.get(assignment_id=task["id"])
        assert stored.version == version + 1, "more than one write was applied"
        # Put the annotation back to its starting state for the next round (one writer, no race).
        r = client.put(f"{base}/annotation/", {"version": stored.version, "spans": [
            {"start": 0, "end": 8, "label": "PERSON"}]}, format="json")
        assert r.status_code == 200, (won, r.content)
        version, span_id = r.json()["version"], r.json()["spans"][0]["id"]
