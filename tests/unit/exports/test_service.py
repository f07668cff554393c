"""annotate.services.exports: job lifecycle, failures, stale detection, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from annotate.errors import Conflict, ValidationFailed
from annotate.exports.jsonl import JsonlWriter
from annotate.models import ExportJob
from annotate.services import exports as service
from annotate.services.exports import (
    ExportBusy,
    export_build,
    export_check_stale,
    export_download_path,
    export_request,
    exports_sweep_stale,
)
from annotate.tasks.exports import export_build_task, export_sweep_stale_task

from .data import build_demo, run_export

pytestmark = pytest.mark.django_db


def _files(settings):
    return sorted(p.name for p in settings.EXPORT_ROOT.rglob("*") if p.is_file())


def test_request_normalises_options_and_rejects_bad_ones():
    demo = build_demo()
    job = export_request(project=demo.project, format="jsonl", options={"labels": "gold"}, enqueue=False)
    assert job.format == "jsonl.v1" and job.status == "queued"
    assert job.options["labels"] == "gold" and job.options["submitted_only"] is True and job.options["split"] is None
    with pytest.raises(ValidationFailed) as err:
        export_request(project=demo.project, format="jsonl", options={"labels": "everyone", "colour": 1},
                       enqueue=False)
    assert set(err.value.details) == {"options", "labels"}
    with pytest.raises(ValidationFailed):
        export_request(project=demo.project, format="xml", enqueue=False)
    with pytest.raises(ValidationFailed) as err:
        export_request(project=demo.project, format="conllu", options={"targets": ["nope"]}, enqueue=False)
    assert "targets" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        export_request(project=demo.project, format="jsonl", options={"split": {"train": 90, "dev": 20}},
                       enqueue=False)
    assert "split" in err.value.details


def test_building_a_done_job_again_changes_nothing(settings):
    demo = build_demo()
    job, path = run_export(demo.project, "jsonl")
    before = (path.read_bytes(), job.sha256, job.finished_at)
    again = export_build(export_id=job.pk)
    assert again.status == "done" and again.attempts == 1
    assert (path.read_bytes(), again.sha256, again.finished_at) == before


def test_a_writer_error_fails_the_job_with_its_reason_and_leaves_no_file(monkeypatch, settings):
    demo = build_demo()

    def boom(self, row, doc=None):
        raise ValueError("disk on fire")

    monkeypatch.setattr(JsonlWriter, "write", boom)
    job = export_request(project=demo.project, format="jsonl", enqueue=False)
    job = export_build(export_id=job.pk)
    assert job.status == "failed" and "disk on fire" in job.error and job.sha256 == ""
    assert _files(settings) == []
    with pytest.raises(Conflict):
        export_download_path(job=job)


def test_a_transient_error_puts_the_job_back_in_the_queue(monkeypatch, settings):
    demo = build_demo()

    def flaky(self, row, doc=None):
        raise OperationalError("connection reset")

    monkeypatch.setattr(JsonlWriter, "write", flaky)
    job = export_request(project=demo.project, format="jsonl", enqueue=False)
    with pytest.raises(OperationalError):
        export_build(export_id=job.pk)
    job.refresh_from_db()
    assert job.status == "queued" and "retrying" in job.error and job.attempts == 1
    monkeypatch.undo()
    job = export_build(export_id=job.pk)
    assert job.status == "done" and job.attempts == 2 and job.error == ""


def test_the_task_retries_transient_errors_until_done(monkeypatch):
    demo = build_demo()
    calls = {"n": 0}
    real = JsonlWriter.write

    def flaky_once(self, row, doc=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection")
        return real(self, row, doc)

    monkeypatch.setattr(JsonlWriter, "write", flaky_once)
    job = export_request(project=demo.project, format="jsonl", enqueue=False)
    export_build_task.apply(args=[job.pk], throw=False)
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2


def _running(project, *, seconds_ago: int, attempts: int = 1) -> ExportJob:
    job = export_request(project=project, format="jsonl", enqueue=False)
    beat = timezone.now() - timedelta(seconds=seconds_ago)
    ExportJob.objects.filter(pk=job.pk).update(status="running", attempts=attempts, started_at=beat,
                                               heartbeat_at=beat, total=10, processed=4)
    job.refresh_from_db()
    return job


def test_a_live_attempt_is_not_disturbed(settings):
    demo = build_demo()
    job = _running(demo.project, seconds_ago=5)
    with pytest.raises(ExportBusy):
        export_build(export_id=job.pk)
    assert export_check_stale(job=job).status == "running"


def test_a_stale_job_is_requeued_while_attempts_remain(settings, django_capture_on_commit_callbacks):
    settings.EXPORT_STALE_SECONDS = 30
    demo = build_demo()
    job = _running(demo.project, seconds_ago=60)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = export_check_stale(job=job)
    assert len(callbacks) == 1  # the build was queued again …
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2  # … and (eager here) ran to the end


def test_a_stale_job_without_attempts_left_fails_with_the_reason(settings):
    settings.EXPORT_STALE_SECONDS = 30
    settings.EXPORT_MAX_ATTEMPTS = 1
    demo = build_demo()
    job = _running(demo.project, seconds_ago=60)
    job = export_check_stale(job=job)
    assert job.status == "failed"
    assert "lost its worker" in job.error and "4 of 10" in job.error and "no attempts left" in job.error
    with pytest.raises(Conflict):
        export_download_path(job=job)


def test_a_redelivered_task_takes_over_a_stale_attempt(settings):
    settings.EXPORT_STALE_SECONDS = 30
    demo = build_demo()
    job = _running(demo.project, seconds_ago=60)
    (settings.EXPORT_ROOT / f"project-{demo.project.pk}").mkdir(parents=True)
    leftover = settings.EXPORT_ROOT / f"project-{demo.project.pk}" / f"export-{job.pk}.attempt-1.tmp"
    leftover.write_text("half a file")
    job = export_build(export_id=job.pk)
    assert job.status == "done" and job.attempts == 2
    assert not leftover.exists()


def test_the_sweep_finds_stale_jobs(settings):
    settings.EXPORT_STALE_SECONDS = 30
    settings.EXPORT_MAX_ATTEMPTS = 1
    demo = build_demo()
    stale = _running(demo.project, seconds_ago=60)
    live = _running(demo.project, seconds_ago=1)
    assert export_sweep_stale_task.apply().get() == 1
    stale.refresh_from_db()
    live.refresh_from_db()
    assert (stale.status, live.status) == ("failed", "running")
    assert exports_sweep_stale() == 0


def test_an_attempt_declared_dead_cannot_finish_the_job(monkeypatch, settings):
    demo = build_demo()
    job = export_request(project=demo.project, format="jsonl", enqueue=False)
    real = JsonlWriter.write

    def meanwhile(self, row, doc=None):
        # Another process declared this attempt dead and started attempt 2.
        ExportJob.objects.filter(pk=job.pk).update(attempts=2)
        return real(self, row, doc)

    monkeypatch.setattr(JsonlWriter, "write", meanwhile)
    monkeypatch.setattr(service, "HEARTBEAT_SECONDS", 0.0)
    result = export_build(export_id=job.pk)
    assert result.status == "running" and result.sha256 == ""
    assert not any(name.endswith(".tmp") for name in _files(settings))


@pytest.mark.parametrize("fmt, options", [("jsonl", {}), ("jsonl", {"split": {"seed": 3, "train": 60, "dev": 20, "test": 20}}),
                                          ("conllu", {}), ("conllu", {"split": {"seed": 3, "train": 60, "dev": 20, "test": 20}}),
                                          ("spacy", {})])
def test_the_jobs_sha256_and_size_are_those_of_the_file_on_disk(fmt, options, monkeypatch):
    """JSONL and the CoNLL formats are hashed while they are written (on a thread), the others
    after: either way the job names exactly the bytes a client downloads. A 256-byte buffer and
    4 KB blocks (the smallest direct write) make the file many blocks."""
    import hashlib

    from annotate.services import exports

    from .data import build_demo, run_export

    monkeypatch.setattr(exports, "WRITE_BUFFER", 256)
    monkeypatch.setattr(exports._HashingFile, "BLOCK", 4096)
    demo = build_demo()
    job, path = run_export(demo.project, fmt, submitted_only=False, **options)
    data = path.read_bytes()
    assert job.sha256 == hashlib.sha256(data).hexdigest() and job.size_bytes == len(data) > 0
