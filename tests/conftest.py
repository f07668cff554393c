"""One global conftest (G12). Unit tests run Celery tasks in-process; integration tests that ask
for `celery_worker` get a real worker process against the real test database and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from annotate.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
    for item in items:
        if ("postgres" in item.keywords or "worker" in item.keywords) and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _eager_celery(settings, tmp_path):
    """In unit tests background tasks run in-process, and exports land in a per-test folder."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    settings.EXPORT_ROOT = tmp_path / "exports"
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """A real `celery worker` process on every queue, against this test database and Redis.

    Yields the Popen; tests may kill it. Needs PostgreSQL: the worker is a separate process and
    must see committed rows of the test database.
    """
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the worker is not under pytest: DEBUG off needs a key
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "annotate", "worker", "-Q", "default,preannotate,exports",
         "-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle", "-n", hostname, "-l", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {(tmp_path / 'worker.log').read_text()[-2000:]}")
            if celery_app.control.ping(destination=[hostname], timeout=0.5):
                break
        else:
            raise RuntimeError("worker did not answer within 60 s")
        proc.log_path = tmp_path / "worker.log"
        proc.hostname = hostname
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        celery_app.conf.task_always_eager = True


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until predicate() is truthy; returns its value or fails the test with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
