"""Fault tests: Redis dies during an export request, during an import, and under a running task.

Each starts its own redis-server (tests/conftest.py `own_redis`, never the shared one) and a
real worker on it, against PostgreSQL. What must hold: a request whose commit succeeded is never
a 500, the sweep delivers what the dead broker never took, and the worker outlives a restart.
"""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotate.celery import BROKER_ERRORS
from annotate.celery import app as celery_app
from annotate.models import Article, ExportJob, Membership, PreannotationRun, text_hash
from annotate.services.exports import exports_sweep
from annotate.services.preannotation import preannotation_sweep
from tests.conftest import wait_for
from tests.factories import MembershipFactory, UserFactory
from tests.unit.exports.data import build_demo

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.redis, pytest.mark.slow]


def _client(project, role) -> APIClient:
    client = APIClient()
    client.force_authenticate(MembershipFactory(project=project, user=UserFactory(), role=role).user)
    return client


def _answers(hostname: str) -> bool:
    try:
        return bool(celery_app.control.ping(destination=[hostname], timeout=0.5))
    except BROKER_ERRORS:  # this process's own broker connection died with the restart too
        return False


def _status(job_id: int) -> str:
    return ExportJob.objects.get(pk=job_id).status


def test_export_requested_while_redis_is_down_is_accepted_and_built_once_redis_is_back(
        own_redis, own_redis_worker, settings):
    demo = build_demo()
    client = _client(demo.project, Membership.Role.EXPORTER)
    own_redis.stop()
    started = time.monotonic()
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": "jsonl"}, format="json")
    took = time.monotonic() - started
    assert resp.status_code == 202, resp.content
    assert took < 6, f"the request waited {took:.1f} s for a dead broker"
    job_id = resp.json()["id"]
    assert _status(job_id) == "queued"

    own_redis.start()
    assert exports_sweep() == 0  # younger than EXPORT_QUEUED_STALE_SECONDS: left alone
    settings.EXPORT_QUEUED_STALE_SECONDS = 0
    assert exports_sweep() == 1  # the sweep (beat) sends it; the worker reconnects and builds it
    wait_for(lambda: _status(job_id) == "done", timeout=30, interval=0.3)
    assert own_redis_worker.poll() is None


def test_import_while_redis_is_down_commits_and_is_preannotated_once_redis_is_back(
        own_redis, own_redis_worker, settings):
    demo = build_demo()
    client = _client(demo.project, Membership.Role.ADMIN)
    body = b"".join(f'{{"id": "fault-{i}", "text": "Olaf Scholz said in Berlin on day {i} that talks go on."}}\n'
                    .encode() for i in range(5))
    own_redis.stop()
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/articles/import/",
                       {"file": SimpleUploadedFile("fault.jsonl", body)}, format="multipart")
    assert resp.status_code == 201, resp.content
    assert resp.json()["created"] == 5
    imported = Article.objects.filter(project=demo.project, external_id__startswith="fault-")
    assert imported.count() == 5
    assert set(imported.values_list("preannotation_status", flat=True)) == {"pending"}
    lost = PreannotationRun.objects.filter(project=demo.project).latest("id")
    assert lost.status == "queued"

    own_redis.start()
    settings.PREANNOTATION_STALE_SECONDS = 0
    result = preannotation_sweep()
    assert result["runs_given_up"] == 1 and len(result["runs_queued"]) == 1
    wait_for(lambda: set(imported.values_list("preannotation_status", flat=True)) == {"done"},
             timeout=30, interval=0.3)
    assert PreannotationRun.objects.get(pk=result["runs_queued"][0]).status == "done"
    assert preannotation_sweep() == {"runs_given_up": 0, "runs_queued": []}  # nothing left pending
    assert own_redis_worker.poll() is None


def test_the_worker_survives_a_redis_restart_mid_task_and_the_job_ends_done(own_redis, own_redis_worker):
    demo = build_demo()
    paragraph = ("Vladimir Putin warned NATO leaders in Brussels that “Western troops would be targets,” "
                 "while Emmanuel Macron said in Paris that the coalition would not be intimidated. ") * 8
    Article.objects.bulk_create([
        Article(project=demo.project, external_id=f"slow-{i}", text=f"{i}. {paragraph}",
                content_hash=text_hash(f"{i}. {paragraph}"))
        for i in range(400)
    ])
    client = _client(demo.project, Membership.Role.EXPORTER)
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/",
                       {"format": "conll2003", "options": {"submitted_only": False}}, format="json")
    job_id = resp.json()["id"]
    # Running = claimed by the worker: from there to done takes seconds (the export pipeline loads,
    # then 400 articles are analysed and written), so the restart below lands mid-task.
    wait_for(lambda: ExportJob.objects.filter(pk=job_id, status="running").exists(), timeout=30, interval=0.05)
    own_redis.restart(down_for=1.0)

    wait_for(lambda: _status(job_id) in ("done", "failed"), timeout=30, interval=0.3)
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "done", job.error
    assert job.counts["articles"] == job.total > 400
    # Still alive, answering, and consuming new work from the restarted Redis.
    assert own_redis_worker.poll() is None, own_redis_worker.log_path.read_text()[-3000:]
    assert "Unrecoverable error" not in own_redis_worker.log_path.read_text()
    wait_for(lambda: _answers(own_redis_worker.hostname), timeout=20, interval=0.2)
    again = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": "jsonl"}, format="json")
    wait_for(lambda: _status(again.json()["id"]) == "done", timeout=20, interval=0.3)
