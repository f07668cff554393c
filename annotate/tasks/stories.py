"""Story tasks: thin callers of annotate.services.stories (G7)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from annotate.models import Project
from annotate.services.stories import stories_assign_new, stories_recompute


def _for_project(project_id: int, service) -> dict:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return {"skipped": "project deleted"}
    return service(project=project)


# Idempotent (a recompute from the committed rows), so a redelivery or a duplicate is harmless.
@shared_task(name="annotate.stories_recompute", autoretry_for=(OperationalError, InterfaceError),
             max_retries=3, retry_backoff=True, acks_late=True)
def stories_recompute_task(project_id: int) -> dict:
    return _for_project(project_id, stories_recompute)


# Idempotent too: only articles still in no story are assigned, so a redelivery finds nothing to do.
@shared_task(name="annotate.stories_assign_new", autoretry_for=(OperationalError, InterfaceError),
             max_retries=3, retry_backoff=True, acks_late=True)
def stories_assign_task(project_id: int) -> dict:
    return _for_project(project_id, stories_assign_new)
