"""Reads for dataset exports (G2)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from annotate.errors import NotFound
from annotate.models import ExportJob


def exports_for_project(*, project_id: int) -> QuerySet[ExportJob]:
    """A project's exports, newest first: finished ones are its dataset versions."""
    return ExportJob.objects.filter(project_id=project_id).select_related("requested_by", "project").order_by("-id")


def export_get(*, export_id: int) -> ExportJob:
    job = ExportJob.objects.select_related("requested_by", "project").filter(pk=export_id).first()
    if job is None:
        raise NotFound("Not found.")  # the same answer as for an export of a project you are not in
    return job


def export_file_path(job: ExportJob) -> Path | None:
    """The finished file on disk, or None while the job is not done (a partial file never counts)."""
    if job.status != ExportJob.Status.DONE or not job.file_path:
        return None
    path = Path(settings.EXPORT_ROOT) / job.file_path
    return path if path.is_file() else None
