"""/healthz against the real services: PostgreSQL, Redis and a running Celery worker."""

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.redis]


def test_healthz_green_with_postgres_redis_and_a_worker(celery_worker, client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["vendor"] == "postgresql"
    assert celery_worker.hostname in body["checks"]["worker"]["workers"]


def test_healthz_503_once_the_worker_is_gone(celery_worker, client):
    celery_worker.terminate()
    celery_worker.wait(timeout=30)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert any(r.startswith("worker:") for r in response.json()["reasons"])
