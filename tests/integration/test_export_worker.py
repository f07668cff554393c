"""Exports through a real Redis broker and a real Celery worker process (PostgreSQL only)."""

from __future__ import annotations

import hashlib
import signal

import psutil
import pytest
from rest_framework.test import APIClient

from annotate.models import Article, ExportJob, Membership, text_hash
from annotate.services.exports import exports_sweep
from tests.conftest import wait_for
from tests.factories import MembershipFactory, UserFactory
from tests.unit.exports.data import build_demo

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.redis, pytest.mark.slow]


def _exporter_client(project) -> APIClient:
    client = APIClient()
    client.force_authenticate(MembershipFactory(project=project, user=UserFactory(),
                                                role=Membership.Role.EXPORTER).user)
    return client


def _add_articles(project, items: list[tuple[str, str]]) -> None:
    Article.objects.bulk_create([Article(project=project, external_id=external_id, text=text,
                                         content_hash=text_hash(text)) for external_id, text in items])


def test_export_over_rest_with_a_real_worker(celery_worker):
    demo = build_demo()
    client = _exporter_client(demo.project)
    for fmt in ("jsonl", "conll2003"):
        resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": fmt}, format="json")
        assert resp.status_code == 202
        job_id = resp.json()["id"]
        status = wait_for(lambda job_id=job_id: (lambda s: s if s["status"] in ("done", "failed") else None)(
            client.get(f"/api/v1/exports/{job_id}/").json()), timeout=60)
        assert status["status"] == "done", status["error"]
        download = client.get(f"/api/v1/exports/{job_id}/download/")
        data = b"".join(download.streaming_content)
        assert hashlib.sha256(data).hexdigest() == status["sha256"] == download["ETag"].strip('"')
        assert status["counts"]["articles"] == 3
    log = celery_worker.log_path.read_text()
    assert "annotate.export_build" in log and "succeeded" in log


def test_a_worker_killed_mid_export_never_leaves_a_served_half_file(celery_worker, settings):
    demo = build_demo()
    paragraph = ("Vladimir Putin warned NATO leaders in Brussels that “Western troops would be targets,” "
                 "while Emmanuel Macron said in Paris that the coalition would not be intimidated. ") * 12
    _add_articles(demo.project, [(f"slow-{i}", f"{i}. {paragraph}") for i in range(1500)])
    client = _exporter_client(demo.project)
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/",
                       {"format": "conll2003", "options": {"submitted_only": False}}, format="json")
    job_id = resp.json()["id"]
    # Progress is written every 2 s while rows stream: once it moves, the worker is mid-file.
    wait_for(lambda: ExportJob.objects.filter(pk=job_id, status="running", processed__gt=0).exists(), timeout=90)
    worker = psutil.Process(celery_worker.pid)
    for proc in [*worker.children(recursive=True), worker]:
        proc.send_signal(signal.SIGKILL)
    celery_worker.wait(timeout=10)

    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "running" and 0 < job.processed < job.total
    # Nobody is left to finish or to heartbeat: the periodic sweep after the stale delay settles it
    # (a status read never writes).
    settings.EXPORT_STALE_SECONDS = 2
    settings.EXPORT_MAX_ATTEMPTS = 1
    status = wait_for(lambda: (lambda s: s if s["status"] != "running" else None)(
        (exports_sweep(), client.get(f"/api/v1/exports/{job_id}/").json())[1]), timeout=20, interval=0.5)
    assert status["status"] == "failed"
    assert "lost its worker" in status["error"] and status["sha256"] == "" and status["download_url"] is None
    download = client.get(f"/api/v1/exports/{job_id}/download/")
    assert download.status_code == 409
    # The partial file exists only under its temporary name, never under the served one.
    files = [p.name for p in settings.EXPORT_ROOT.rglob(f"export-{job_id}*")]
    assert files and all(name.endswith(".tmp") for name in files)


@pytest.fixture
def parallel_worker(transactional_db, settings, tmp_path):
    """A real worker that builds exports of 1,000+ articles with two helper processes."""
    from tests.conftest import _worker

    yield from _worker(settings, tmp_path, extra_env={"EXPORT_PROCESSES": "2", "EXPORT_PARALLEL_MIN_ARTICLES": "1000"})


def test_a_prefork_worker_builds_a_large_export_with_helper_processes(parallel_worker, settings):
    """A Celery prefork pool process is daemonic (multiprocessing would refuse it children): its
    forked helpers build the export, and the file is the one a single process builds."""
    demo = build_demo()
    sentence = ("Emmanuel Macron said in Paris that “the coalition would not be intimidated,” and "
                "Vladimir Putin warned NATO again. ")
    _add_articles(demo.project, [(f"many-{i:04d}", f"{i}. {sentence * (1 + i % 3)}") for i in range(1200)])
    client = _exporter_client(demo.project)
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/",
                       {"format": "conllu", "options": {"submitted_only": False}}, format="json")
    assert resp.status_code == 202
    job_id = resp.json()["id"]
    status = wait_for(lambda: (lambda s: s if s["status"] in ("done", "failed") else None)(
        client.get(f"/api/v1/exports/{job_id}/").json()), timeout=180)
    assert status["status"] == "done", status["error"]
    assert status["counts"]["export_processes"] == 2 and status["counts"]["articles"] == 1204
    data = b"".join(client.get(f"/api/v1/exports/{job_id}/download/").streaming_content)

    from tests.unit.exports.data import run_export

    settings.EXPORT_PROCESSES = 1
    alone, path = run_export(demo.project, "conllu", submitted_only=False)
    assert data == path.read_bytes() and status["sha256"] == alone.sha256
    worker = psutil.Process(parallel_worker.pid)
    assert all(len(child.children()) == 0 for child in worker.children())  # the helpers were reaped
