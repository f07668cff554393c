"""GET /healthz: is this deployment usable? 200 when it is, 503 with the reasons when not."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from .celery import app as celery_app
from .celery import broker_reachable
from .nlp.loading import describe_configured_pipeline

WORKER_PING_TIMEOUT = 1.0  # seconds; a health probe must answer well inside a load balancer's timeout


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}


def _check_broker_and_worker() -> tuple[dict, dict]:
    if celery_app.conf.task_always_eager:
        embedded = {"ok": True, "mode": "in-process (no Redis answered at start-up)"}
        return embedded, {"ok": True, "mode": "in-process", "workers": []}
    if not broker_reachable(settings.CELERY_BROKER_URL, timeout=WORKER_PING_TIMEOUT):
        return ({"ok": False, "error": f"no answer from {settings.CELERY_BROKER_URL}"},
                {"ok": False, "error": "broker unreachable", "workers": []})
    try:
        replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT) or []
    except Exception as exc:
        return {"ok": True}, {"ok": False, "error": f"ping failed: {exc}", "workers": []}
    workers = sorted(name for reply in replies for name in reply)
    worker = {"ok": bool(workers), "workers": workers}
    if not workers:
        worker["error"] = "no Celery worker answered: pre-annotation and exports will wait"
    return {"ok": True}, worker


def healthz(request):
    database = _check_database()
    broker, worker = _check_broker_and_worker()
    pipeline = describe_configured_pipeline()
    checks = {"database": database, "broker": broker, "worker": worker, "spacy": pipeline}
    reasons = [f"{name}: {c.get('error', 'not ok')}" for name, c in checks.items() if name != "spacy" and not c["ok"]]
    body = {"status": "ok" if not reasons else "unavailable", "reasons": reasons, "checks": checks}
    if not pipeline["trained"]:
        body["warnings"] = [f"no trained spaCy pipeline: rule-only pre-annotation ({pipeline['fallback_reason']})"]
    return JsonResponse(body, status=200 if not reasons else 503)
