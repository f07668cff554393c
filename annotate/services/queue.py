"""The task queue: who annotates which article next, skips, reopening, lease expiry.

Invariants (checked by tests/integration/test_queue_concurrency.py on PostgreSQL):
- an article holds at most `project.overlap` *active* assignments (assigned, in progress or
  submitted); skipped ones free their slot;
- an annotator never gets the same article twice (also a unique constraint on the table);
- a caller's unfinished assignment comes back before anything new;
- new work is handed out by `priority` desc, then import order (id).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Length
from django.utils import timezone

from annotate.errors import AssignmentClosed, ValidationFailed
from annotate.models import Annotation, Article, Assignment, Project

Status = Assignment.Status
OPEN = (Status.ASSIGNED, Status.IN_PROGRESS)
# Statuses that occupy one of the article's `overlap` slots. A skip frees the slot for someone else.
ACTIVE = (Status.ASSIGNED, Status.IN_PROGRESS, Status.SUBMITTED)

# Candidates examined per `next` call before giving up. Each rejected candidate means another
# transaction filled the article between our snapshot and our lock; 50 in a row cannot happen
# with fewer than 50 concurrent callers, so this only bounds the loop, it never hides work.
MAX_CANDIDATES = 50

# An annotator who leaves the tab open does not accrue more than this per write (time spent).
IDLE_CAP_SECONDS = 300


def lock_rows(qs: QuerySet, *, touch: str) -> None:
    """Take write locks on the rows of `qs` for the rest of the transaction.

    PostgreSQL: SELECT … FOR UPDATE (row locks). SQLite has no row locks: a no-op UPDATE of
    `touch` takes the database write lock at once, so the whole transaction is serialized with
    every other writer. Taking it as the *first* statement matters on SQLite: a deferred
    transaction that read first and writes later fails with SQLITE_BUSY instead of waiting.
    """
    if connection.features.has_select_for_update:
        list(qs.select_for_update(of=("self",)).values_list("pk", flat=True))
    else:
        qs.update(**{touch: F(touch)})


def _active_count() -> Coalesce:
    counts = (
        Assignment.objects.filter(article=OuterRef("pk"), status__in=ACTIVE)
        .order_by().values("article").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counts), Value(0))


def articles_available(*, project: Project, user) -> QuerySet[Article]:
    """Articles the queue could give `user` now (ignores leases that a `next` call would release)."""
    taken_by_user = Assignment.objects.filter(project=project, annotator=user).values("article_id")
    return (
        Article.objects.filter(project=project)
        .exclude(pk__in=taken_by_user)
        .alias(active=_active_count())
        .filter(active__lt=project.overlap)
    )


def _renew(assignment: Assignment, project: Project, now) -> Assignment:
    assignment.lease_expires_at = now + timedelta(minutes=project.assignment_timeout_minutes)
    Assignment.objects.filter(pk=assignment.pk).update(lease_expires_at=assignment.lease_expires_at)
    return assignment


def assignments_release_expired(*, project: Project, now=None) -> int:
    """Release open assignments whose lease expired and that hold no saved work (annotation still
    at version 1): they are deleted, so the article goes back to the queue. Assignments with
    saved work are kept (they hold their slot and return first to their annotator): deleting
    someone's work silently would be worse than a slot waiting for a reviewer to skip it.

    Concurrency: rows are locked with SKIP LOCKED, so an assignment whose annotator is saving
    right now (the save holds that row's lock and renews the lease) is left alone; a row that a
    save committed after our snapshot is re-checked by PostgreSQL against the lease condition.
    """
    now = now or timezone.now()
    expired = Assignment.objects.filter(
        project=project, status__in=OPEN, lease_expires_at__lt=now, annotation__version=1)
    if connection.features.has_select_for_update:
        ids = list(expired.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
    else:
        ids = list(expired.values_list("pk", flat=True))
    if not ids:
        return 0
    Assignment.objects.filter(pk__in=ids).delete()
    return len(ids)


def assignment_next(*, project: Project, user) -> Assignment | None:
    """The caller's next assignment in `project`, or None when nothing is left for them.

    Returns the caller's oldest unfinished assignment first (lease renewed). Otherwise assigns the
    first article by (priority desc, id) that has fewer than `overlap` active assignments and
    was never assigned to the caller, and creates its empty annotation (version 1).

    Why this is safe on PostgreSQL (READ COMMITTED):
    1. The caller's own row in auth_user is locked first, so two concurrent `next` calls of the
       same user (double click, two tabs) run one after the other: the second sees the first's
       assignment and returns it instead of taking a second article.
    2. The candidate article is taken with `FOR UPDATE SKIP LOCKED LIMIT 1` in queue order:
       concurrent callers never wait for each other, each locks a different article.
    3. The candidate query's snapshot may predate a commit that just filled the article (the
       article row itself is not updated by assigning it, so PostgreSQL does not re-check the
       subquery). Hence, holding the lock, we count the article's active assignments again in
       a *new statement*, which sees every commit so far. Every insert of an assignment happens
       under that article's lock, so the count cannot change until we commit: overlap holds.
    4. Locks are always taken in the order user row → article row → (writes) assignment rows,
       and article locks never wait (SKIP LOCKED), so `next` cannot deadlock.
    On SQLite, `lock_rows` serializes the whole transaction with every other writer, which
    makes the same steps trivially correct.
    """
    now = timezone.now()
    User = user._meta.model  # request.user is a SimpleLazyObject under session auth: type() is the proxy
    with transaction.atomic():
        lock_rows(User.objects.filter(pk=user.pk), touch="last_login")
        mine = (Assignment.objects.filter(project=project, annotator=user, status__in=OPEN)
                .select_related("article").order_by("id").first())
        if mine is not None:
            return _renew(mine, project, now)
        assignments_release_expired(project=project, now=now)
        tried: list[int] = []
        for _ in range(MAX_CANDIDATES):
            candidates = articles_available(project=project, user=user).exclude(pk__in=tried)
            if connection.features.has_select_for_update:
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            article = candidates.order_by("-priority", "id").first()
            if article is None:
                return None
            active = Assignment.objects.filter(article=article, status__in=ACTIVE).count()  # fresh snapshot
            if active < project.overlap:
                assignment = Assignment.objects.create(
                    project=project, article=article, annotator=user, status=Status.ASSIGNED,
                    lease_expires_at=now + timedelta(minutes=project.assignment_timeout_minutes),
                )
                assignment.annotation = Annotation.objects.create(assignment=assignment)
                return assignment
            tried.append(article.pk)
    return None


def assignment_touch(assignment: Assignment, *, now=None) -> None:
    """Record activity on an open assignment (called by every annotation write, under its lock):
    renews the lease, moves `assigned` to `in_progress`, accrues time spent."""
    now = now or timezone.now()
    idle = (now - assignment.last_activity_at).total_seconds() if assignment.last_activity_at else 0
    assignment.time_spent_seconds += int(max(0, min(idle, IDLE_CAP_SECONDS)))
    assignment.last_activity_at = now
    assignment.lease_expires_at = now + timedelta(minutes=assignment.project.assignment_timeout_minutes)
    if assignment.status == Status.ASSIGNED:
        assignment.status = Status.IN_PROGRESS
    assignment.save(update_fields=["time_spent_seconds", "last_activity_at", "lease_expires_at", "status"])


def assignment_lock(assignment_id: int) -> Assignment:
    """Lock one assignment row for a write (call inside transaction.atomic) and return it fresh,
    with its project, its annotation and `text_len` (the article's length in code points).
    Every write to an assignment or its annotation goes through here, which is what makes
    version checks and lease expiry race-free. One query on PostgreSQL (FOR UPDATE OF the
    assignment row only: locking the joined project row would serialize the whole project)."""
    qs = (Assignment.objects.filter(pk=assignment_id).select_related("project", "annotation")
          .annotate(text_len=Length("article__text")))
    if connection.features.has_select_for_update:
        return qs.select_for_update(of=("self",)).get()
    lock_rows(Assignment.objects.filter(pk=assignment_id), touch="status")
    return qs.get()


def assignment_skip(*, assignment: Assignment, reason: str, by) -> Assignment:
    """Close an open assignment as skipped with a reason. The article goes to someone else (the
    slot is freed), never back to this annotator."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason: a reason is required to skip", details={"reason": ["a reason is required"]})
    with transaction.atomic():
        locked = assignment_lock(assignment.pk)
        if locked.status not in OPEN:
            raise AssignmentClosed(f"Assignment {locked.pk} is already {locked.status}.")
        locked.status = Status.SKIPPED
        locked.skip_reason = reason
        locked.lease_expires_at = None
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["status", "skip_reason", "lease_expires_at", "last_activity_at"])
    return locked


def assignment_reopen(*, assignment: Assignment, by) -> Assignment:
    """Reopen a submitted or skipped assignment (reviewers): back to in_progress, annotation kept,
    its version bumped so a tab still open on the old state cannot overwrite it unknowingly.
    Reopening a skip may put the article one above `overlap`: the reviewer asked for it."""
    now = timezone.now()
    with transaction.atomic():
        locked = assignment_lock(assignment.pk)
        if locked.status in OPEN:
            raise AssignmentClosed(f"Assignment {locked.pk} is already open ({locked.status}).")
        locked.status = Status.IN_PROGRESS
        locked.submitted_at = None
        locked.skip_reason = ""
        locked.last_activity_at = now
        locked.lease_expires_at = now + timedelta(minutes=locked.project.assignment_timeout_minutes)
        locked.save(update_fields=["status", "submitted_at", "skip_reason", "last_activity_at", "lease_expires_at"])
        Annotation.objects.filter(assignment=locked).update(submitted_at=None, version=F("version") + 1)
    return locked
