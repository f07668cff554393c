"""Jobs survive the broker (issue 13 point 5, issue 14 point 7): enqueue after commit, a broker
outage never turns a committed request into a 500, the periodic sweep delivers what was never
delivered, and GETs on export jobs never write or enqueue."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import kombu.exceptions
import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.utils import timezone

from annotate import celery as celery_module
from annotate.celery import app as celery_app
from annotate.celery import run_sweeps, start_inprocess_sweeper, stop_inprocess_sweeper
from annotate.models import Article, ExportJob, PreannotationRun
from annotate.services.exports import export_request, exports_sweep
from annotate.services.preannotation import preannotation_queue, preannotation_sweep
from annotate.tasks.exports import export_build_task
from annotate.tasks.preannotation import preannotate_chunk
from tests.conftest import wait_for
from tests.unit.api.world import make_world
from tests.unit.exports.data import build_demo

# Transactional: what is queued "after commit" must really run after a commit here.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(monkeypatch):
    """Tasks go to a broker (not in-process), and every publish fails as kombu fails on a dead Redis."""
    sent = []

    def refuse(task):
        def apply_async(*args, **kwargs):
            sent.append(task.name)
            raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return apply_async

    for task in (export_build_task, preannotate_chunk):
        monkeypatch.setattr(task, "apply_async", refuse(task))
    celery_app.conf.task_always_eager = False
    return sent


@pytest.fixture
def recorded_sends(monkeypatch):
    """Tasks go to a broker that accepts and records every message (nothing runs)."""
    sent = []
    for task in (export_build_task, preannotate_chunk):
        monkeypatch.setattr(task, "apply_async",
                            lambda *a, _name=task.name, **kw: sent.append((_name, kw.get("args"), kw.get("kwargs"))))
    celery_app.conf.task_always_eager = False
    return sent


def _age(model, pk, seconds, **fields):
    then = timezone.now() - timedelta(seconds=seconds)
    model.objects.filter(pk=pk).update(**{f: then for f in fields} if fields else {"created_at": then})


# --- export requested while the broker is down ---------------------------------------------------

def test_export_request_with_the_broker_down_answers_202_and_the_sweep_builds_it_later(broker_down, caplog,
                                                                                       settings, monkeypatch):
    w = make_world(articles=2)
    with caplog.at_level(logging.WARNING, logger="standpoint.celery"):
        r = w.client("exporter").post(f"/api/v1/projects/{w.project.pk}/exports/", {"format": "jsonl", "options": {"submitted_only": False}},
                                      format="json")
    assert r.status_code == 202, r.content
    job = ExportJob.objects.get(pk=r.json()["id"])
    assert job.status == "queued" and broker_down == ["annotate.export_build"]
    assert any("broker unavailable" in rec.getMessage() for rec in caplog.records)

    # The broker is back (in-process here); the job waited longer than the threshold: the sweep sends it.
    settings.EXPORT_QUEUED_STALE_SECONDS = 60
    monkeypatch.undo()
    celery_app.conf.task_always_eager = True
    assert exports_sweep() == 0  # not yet: it was queued a moment ago
    _age(ExportJob, job.pk, 61)
    assert exports_sweep() == 1
    job.refresh_from_db()
    assert job.status == "done" and job.sha256


def test_the_sweep_sends_an_undelivered_export_once_per_threshold(recorded_sends, settings):
    settings.EXPORT_QUEUED_STALE_SECONDS = 60
    demo = build_demo()
    old = export_request(project=demo.project, format="jsonl", enqueue=False)
    fresh = export_request(project=demo.project, format="jsonl", enqueue=False)
    running = export_request(project=demo.project, format="jsonl", enqueue=False)
    _age(ExportJob, old.pk, 120)
    ExportJob.objects.filter(pk=running.pk).update(status="running", attempts=1, started_at=timezone.now(),
                                                   heartbeat_at=timezone.now())
    assert exports_sweep() == 1
    assert recorded_sends == [("annotate.export_build", (old.pk,), {})]
    # A second sweep (or a second beat racing the first) does not send it again before the threshold.
    assert exports_sweep() == 0 and len(recorded_sends) == 1
    assert ExportJob.objects.get(pk=fresh.pk).status == "queued"


# --- import while the broker is down ----------------------------------------------------------

def test_import_with_the_broker_down_answers_normally_and_the_sweep_preannotates_later(broker_down, settings,
                                                                                       monkeypatch):
    w = make_world(articles=0)
    body = b'{"id": "n1", "text": "Angela Merkel spoke in Berlin."}\n{"id": "n2", "text": "Second one."}\n'
    r = w.client("admin").post(f"/api/v1/projects/{w.project.pk}/articles/import/",
                               {"file": SimpleUploadedFile("a.jsonl", body)}, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["created"] == 2
    articles = Article.objects.filter(project=w.project)
    assert articles.count() == 2 and set(articles.values_list("preannotation_status", flat=True)) == {"pending"}
    run = PreannotationRun.objects.get(project=w.project)
    assert run.status == "queued" and broker_down == ["annotate.preannotate_chunk"]

    settings.PREANNOTATION_STALE_SECONDS = 60
    monkeypatch.undo()
    celery_app.conf.task_always_eager = True
    assert preannotation_sweep() == {"runs_given_up": 0, "runs_queued": []}  # its run is still young
    _age(PreannotationRun, run.pk, 61, heartbeat_at=True, created_at=True)
    result = preannotation_sweep()
    run.refresh_from_db()
    assert result["runs_given_up"] == 1 and len(result["runs_queued"]) == 1
    assert run.status == "failed" and "messages were lost" in run.error
    assert set(articles.values_list("preannotation_status", flat=True)) == {"done"}
    assert PreannotationRun.objects.get(pk=result["runs_queued"][0]).status == "done"


def test_pending_articles_without_any_run_are_queued_by_the_sweep(recorded_sends):
    w = make_world(articles=3)
    Article.objects.filter(project=w.project).update(preannotation_status="pending")
    PreannotationRun.objects.filter(project=w.project).delete()
    result = preannotation_sweep()
    assert len(result["runs_queued"]) == 1
    assert [name for name, *_ in recorded_sends] == ["annotate.preannotate_chunk"]
    # That run is live now: the next sweep leaves the project alone.
    assert preannotation_sweep() == {"runs_given_up": 0, "runs_queued": []}
    assert len(recorded_sends) == 1


def test_a_live_run_is_left_alone_and_a_late_chunk_cannot_revive_a_run_given_up(recorded_sends, settings):
    settings.PREANNOTATION_STALE_SECONDS = 60
    w = make_world(articles=2)
    Article.objects.filter(project=w.project).update(preannotation_status="pending")
    run = preannotation_queue(project=w.project)
    assert preannotation_sweep()["runs_given_up"] == 0
    _age(PreannotationRun, run.pk, 61, heartbeat_at=True, created_at=True)
    assert preannotation_sweep()["runs_given_up"] == 1
    _, _, kwargs = recorded_sends[0]
    from annotate.services.preannotation import preannotation_process_chunk

    preannotation_process_chunk(**kwargs)  # the lost message turns up after all
    run.refresh_from_db()
    assert run.status == "failed"
    assert set(Article.objects.filter(project=w.project).values_list("preannotation_status", flat=True)) == {"done"}


# --- GETs never write ---------------------------------------------------------------------------

def test_gets_on_stale_exports_change_no_row_and_enqueue_nothing(recorded_sends, settings):
    settings.EXPORT_STALE_SECONDS = 30
    settings.EXPORT_QUEUED_STALE_SECONDS = 30
    w = make_world(articles=2)
    dead = export_request(project=w.project, format="jsonl", options={"submitted_only": False}, enqueue=False)
    undelivered = export_request(project=w.project, format="jsonl", options={"submitted_only": False}, enqueue=False)
    long_ago = timezone.now() - timedelta(seconds=600)
    ExportJob.objects.filter(pk=dead.pk).update(status="running", attempts=1, started_at=long_ago,
                                                heartbeat_at=long_ago)
    _age(ExportJob, undelivered.pk, 600)
    before = {j.pk: model_to_dict(j) for j in ExportJob.objects.all()}
    client = w.client("exporter")
    assert client.get(f"/api/v1/projects/{w.project.pk}/exports/").status_code == 200
    for job in (dead, undelivered):
        assert client.get(f"/api/v1/exports/{job.pk}/").json()["status"] in ("running", "queued")
        assert client.get(f"/api/v1/exports/{job.pk}/download/").status_code == 409
    assert {j.pk: model_to_dict(j) for j in ExportJob.objects.all()} == before
    assert recorded_sends == []
    # The sweep is where they are put right.
    assert exports_sweep() == 2
    assert sorted(args for _, args, _ in recorded_sends) == [(dead.pk,), (undelivered.pk,)]


# --- publishing does not hang on a dead broker ----------------------------------------------------

def test_publishing_to_a_dead_broker_gives_up_within_a_few_seconds(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    from django.conf import settings as django_settings

    conf = {name[len("CELERY_"):].lower(): getattr(django_settings, name)
            for name in dir(django_settings) if name.startswith("CELERY_")}
    app = Celery("probe", set_as_current=False)
    app.conf.update(conf, broker_url=f"redis://127.0.0.1:{port}/0", task_always_eager=False)
    started = time.monotonic()
    with pytest.raises(celery_module.BROKER_ERRORS):
        app.send_task("annotate.export_build", args=[1])
    assert time.monotonic() - started < 5


# --- the in-process mode runs the sweep on its own timer -----------------------------------------

def test_in_process_mode_runs_the_sweeps_on_a_timer(settings, monkeypatch):
    settings.EXPORT_QUEUED_STALE_SECONDS = 1
    settings.INPROCESS_SWEEP_SECONDS = 0.2
    monkeypatch.setattr(celery_module, "_sweeper", None)
    demo = build_demo()
    job = export_request(project=demo.project, format="jsonl", enqueue=False)  # never sent
    _age(ExportJob, job.pk, 5)
    celery_app.conf.task_always_eager = True
    thread = start_inprocess_sweeper()
    try:
        assert thread is not None and thread.daemon
        assert start_inprocess_sweeper() is thread  # started once per process
        wait_for(lambda: ExportJob.objects.get(pk=job.pk).status == "done", timeout=20)
    finally:
        stop_inprocess_sweeper()
    assert not thread.is_alive()


def test_no_timer_when_tasks_go_to_a_broker(settings, monkeypatch):
    monkeypatch.setattr(celery_module, "_sweeper", None)
    celery_app.conf.task_always_eager = False
    assert start_inprocess_sweeper() is None
    celery_app.conf.task_always_eager = True
    settings.INPROCESS_SWEEP_SECONDS = 0
    assert start_inprocess_sweeper() is None


def test_beat_schedules_both_sweeps_on_the_default_queue():
    from annotate.celery import app

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert schedule == {"annotate.sweep_exports", "annotate.sweep_preannotation"}
    for name in schedule:
        assert app.amqp.router.route({}, name)["queue"].name == "default"
    assert set(run_sweeps()) == {"exports", "preannotation"}

