"""Training and bulk prediction (annotate.services.training), on the `train` queue: seconds of CPU
each, so they never wait in front of (or hold up) an export or pre-annotation."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from annotate.models import Project
from annotate.services import training


def _project(project_id: int) -> Project | None:
    return Project.objects.filter(pk=project_id).first()  # deleted meanwhile: nothing to do


@shared_task(name="annotate.model_train", autoretry_for=(OperationalError, InterfaceError), max_retries=3,
             retry_backoff=True, acks_late=True)
def model_train_task(project_id: int, trigger: str = "manual", user_id: int | None = None) -> dict:
    project = _project(project_id)
    if project is None:
        return {"skipped": "no such project"}
    by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    row = training.model_train(project=project, by=by, trigger=trigger)
    return {"version": row.version, "status": row.status}


@shared_task(name="annotate.model_maybe_train", acks_late=True)
def model_maybe_train_task(project_id: int) -> dict:
    project = _project(project_id)
    row = training.model_maybe_train(project=project) if project else None
    return {"trained": row.version if row else None}


@shared_task(name="annotate.model_predict", autoretry_for=(OperationalError, InterfaceError), max_retries=3,
             retry_backoff=True, acks_late=True)
def model_predict_task(project_id: int, article_ids: list[int] | None = None) -> dict:
    project = _project(project_id)
    done = training.predictions_compute(project=project, article_ids=article_ids) if project else 0
    return {"predicted": done}
