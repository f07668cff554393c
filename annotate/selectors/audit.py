"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.models import AuditEvent, Project


def audit_events_for(*, project: Project, action: str | None = None) -> QuerySet[AuditEvent]:
    """A project's events, newest first. `action` filters on a full name (gold.create) or a
    prefix ending in a dot (gold.)."""
    qs = AuditEvent.objects.filter(project=project)
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    return qs.order_by("-id")
