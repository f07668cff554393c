"""annotate.services.queue: who gets which article next (single-threaded behaviour; the
concurrent proof is tests/integration/test_queue_concurrency.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.errors import AssignmentClosed, ValidationFailed
from annotate.models import Annotation, Assignment
from annotate.services.annotations import annotation_update
from annotate.services.queue import assignment_next, assignment_reopen, assignment_skip
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(overlap=2, assignment_timeout_minutes=30)


def test_next_orders_by_priority_then_import_order(project):
    low = ArticleFactory(project=project, priority=0)
    high_later = ArticleFactory(project=project, priority=5)
    low_later = ArticleFactory(project=project, priority=0)
    user = UserFactory()
    got = []
    for _ in range(3):
        a = assignment_next(project=project, user=user)
        got.append(a.article_id)
        assignment_skip(assignment=a, reason="test", by=user)
    assert got == [high_later.pk, low.pk, low_later.pk]


def test_open_assignment_comes_back_first_with_renewed_lease(project):
    ArticleFactory.create_batch(2, project=project)
    user = UserFactory()
    first = assignment_next(project=project, user=user)
    Assignment.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    again = assignment_next(project=project, user=user)
    assert again.pk == first.pk
    assert again.lease_expires_at > timezone.now() + timedelta(minutes=29)
    assert Assignment.objects.filter(annotator=user).count() == 1


def test_each_article_goes_to_overlap_different_annotators_then_queue_is_empty(project):
    article = ArticleFactory(project=project)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    assert assignment_next(project=project, user=a).article_id == article.pk
    assert assignment_next(project=project, user=b).article_id == article.pk
    assert assignment_next(project=project, user=c) is None


def test_skip_frees_the_slot_for_someone_else_but_never_returns_to_the_skipper(project):
    article = ArticleFactory(project=project)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    first = assignment_next(project=project, user=a)
    assignment_next(project=project, user=b)
    assignment_skip(assignment=first, reason="not about the target", by=a)
    assert Assignment.objects.get(pk=first.pk).skip_reason == "not about the target"
    assert assignment_next(project=project, user=a) is None
    assert assignment_next(project=project, user=c).article_id == article.pk


def test_skip_needs_a_reason_and_an_open_assignment(project):
    ArticleFactory(project=project)
    user = UserFactory()
    a = assignment_next(project=project, user=user)
    with pytest.raises(ValidationFailed):
        assignment_skip(assignment=a, reason="  ", by=user)
    assignment_skip(assignment=a, reason="dup", by=user)
    with pytest.raises(AssignmentClosed):
        assignment_skip(assignment=a, reason="again", by=user)


def test_expired_lease_without_work_is_released_to_others(project):
    article = ArticleFactory(project=project)
    project.overlap = 1
    project.save()
    idle, other = UserFactory(), UserFactory()
    stale = assignment_next(project=project, user=idle)
    assert assignment_next(project=project, user=other) is None
    Assignment.objects.filter(pk=stale.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    got = assignment_next(project=project, user=other)
    assert got.article_id == article.pk
    assert not Assignment.objects.filter(pk=stale.pk).exists()


def test_expired_lease_with_saved_work_is_kept_and_comes_back_to_its_annotator(project):
    ArticleFactory(project=project)
    project.overlap = 1
    project.save()
    worker, other = UserFactory(), UserFactory()
    mine = assignment_next(project=project, user=worker)
    annotation_update(assignment=mine, by=worker, version=1, fields={"notes": "half done"}, replace=False)
    Assignment.objects.filter(pk=mine.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert assignment_next(project=project, user=other) is None
    assert Annotation.objects.get(assignment=mine).notes == "half done"
    assert assignment_next(project=project, user=worker).pk == mine.pk


def test_next_creates_an_empty_annotation_at_version_1(project):
    ArticleFactory(project=project)
    a = assignment_next(project=project, user=UserFactory())
    ann = Annotation.objects.get(assignment=a)
    assert (ann.version, ann.stance, ann.frames) == (1, {}, [])


def test_reopen_a_submitted_assignment_keeps_the_annotation_and_bumps_version(project):
    ArticleFactory(project=project)
    user = UserFactory()
    a = assignment_next(project=project, user=user)
    annotation_update(assignment=a, by=user, version=1, fields={"notes": "x"}, replace=False)
    Assignment.objects.filter(pk=a.pk).update(status=Assignment.Status.SUBMITTED)
    reviewer = MembershipFactory(project=project, role="reviewer").user
    reopened = assignment_reopen(assignment=a, by=reviewer)
    assert reopened.status == Assignment.Status.IN_PROGRESS
    ann = Annotation.objects.get(assignment=a)
    assert (ann.notes, ann.version) == ("x", 3)
    with pytest.raises(AssignmentClosed):
        assignment_reopen(assignment=a, by=user)


def test_projects_have_separate_queues():
    p1, p2 = ProjectFactory(overlap=1), ProjectFactory(overlap=1)
    ArticleFactory(project=p1)
    user = UserFactory()
    assert assignment_next(project=p2, user=user) is None
    assert assignment_next(project=p1, user=user).project_id == p1.pk


def test_with_a_sweep_interval_expired_leases_are_released_late_but_never_lost(project, settings, monkeypatch):
    """QUEUE_SWEEP_SECONDS > 0 (deployments): `next` skips the expired-lease sweep if it ran in
    the last seconds, but sweeps before it would answer that nothing is left."""
    import annotate.services.queue as queue

    settings.QUEUE_SWEEP_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(queue.time, "monotonic", lambda: clock[0])
    queue._last_sweep.clear()
    project.overlap = 1
    project.save()
    first, second = ArticleFactory(project=project), ArticleFactory(project=project)
    idle = UserFactory()
    stale = assignment_next(project=project, user=idle)  # sweeps (the first call) and takes `first`
    assert stale.article_id == first.pk
    Assignment.objects.filter(pk=stale.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    clock[0] += 1
    # Within the interval: no sweep, so `first` is not free yet; `second` is handed out (on
    # PostgreSQL by the one-statement path, whose objects must equal the stored rows).
    made = assignment_next(project=project, user=UserFactory())
    assert made.article_id == second.pk
    stored = Assignment.objects.select_related("annotation").get(pk=made.pk)
    fields = [f.attname for f in Assignment._meta.concrete_fields]
    assert [getattr(made, f) for f in fields] == [getattr(stored, f) for f in fields]
    ann_fields = [f.attname for f in Annotation._meta.concrete_fields]
    assert [getattr(made.annotation, f) for f in ann_fields] == [getattr(stored.annotation, f) for f in ann_fields]
    assert stored.status == "assigned" and stored.annotation.version == 1 and stored.lease_expires_at > timezone.now()
    assert Assignment.objects.filter(pk=stale.pk).exists()
    # Nothing else is left: rather than answer "nothing left", next sweeps and hands out `first`.
    third = UserFactory()
    got = assignment_next(project=project, user=third)
    assert got.article_id == first.pk
    assert not Assignment.objects.filter(pk=stale.pk).exists()
    clock[0] += 1  # within the interval again: the open one comes back (combined read on PostgreSQL)
    again = assignment_next(project=project, user=third)
    assert again.pk == got.pk and again.article.text == first.text and again.annotation.version == 1
    queue._last_sweep.clear()


def test_issue13_skip_and_reopen_are_audited_with_who_and_status(project):
    from annotate.selectors.audit import audit_events_for

    ArticleFactory(project=project)
    user, reviewer = UserFactory(), MembershipFactory(project=project, role="reviewer").user
    a = assignment_next(project=project, user=user)
    assignment_skip(assignment=a, reason="off topic", by=user)
    assignment_reopen(assignment=a, by=reviewer)
    reopen, skip = audit_events_for(project=project, action="assignment.")
    assert (skip.action, skip.actor, skip.object_type, skip.object_id) == ("assignment.skip", user, "assignment",
                                                                           str(a.pk))
    assert (skip.before["status"], skip.after["status"], skip.after["skip_reason"]) == (
        "assigned", "skipped", "off topic")
    assert (reopen.action, reopen.actor) == ("assignment.reopen", reviewer)
    assert (reopen.before["status"], reopen.after["status"]) == ("skipped", "in_progress")
    assert (reopen.before["version"], reopen.after["version"]) == (1, 2)
    with pytest.raises(AssignmentClosed):  # refused: no event
        assignment_reopen(assignment=a, by=reviewer)
    assert audit_events_for(project=project, action="assignment.").count() == 2
