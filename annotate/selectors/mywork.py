"""An annotator's own closed work ("My work"): what they submitted or skipped, newest first."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from annotate.models import Assignment
from annotate.services.queue import reopen_refusal

CLOSED = (Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED)


def my_work(*, user, q: str = "", project: int | None = None, status: str | None = None) -> QuerySet[Assignment]:
    """The caller's submitted and skipped assignments in projects they still belong to, newest
    first (by submission, or by the skip for skipped ones), with project and article loaded.
    `q` matches the article's title or external id (case-insensitive, anywhere)."""
    qs = Assignment.objects.filter(annotator=user, status__in=[status] if status else CLOSED)
    if not user.is_superuser:
        qs = qs.filter(project__memberships__user=user)  # one membership per project and user: no duplicates
    if project is not None:
        qs = qs.filter(project_id=project)
    q = q.strip()
    if q:
        qs = qs.filter(Q(article__title__icontains=q) | Q(article__external_id__icontains=q))
    # A skip sets last_activity_at and no submission time: that is when it closed.
    return (qs.annotate(closed_at=Coalesce("submitted_at", "last_activity_at"))
            .select_related("project", "article").defer("article__text", "article__meta")
            .order_by("-closed_at", "-id"))


def reopen_state(*, assignment: Assignment, user) -> dict:
    """Whether the caller may reopen it themselves now, until when, and if not why."""
    refusal = reopen_refusal(assignment=assignment, by=user)
    hours = assignment.project.reopen_window
    until = (assignment.submitted_at + timedelta(hours=hours)
             if hours and assignment.status == Assignment.Status.SUBMITTED and assignment.submitted_at else None)
    return {"can_reopen": refusal is None, "reopen_until": until, "reopen_refusal": refusal}
