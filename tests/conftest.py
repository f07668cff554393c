"""One global conftest (G12). Unit tests run Celery tasks in-process; integration tests that ask
for `celery_worker` get a real worker process against the real test database and Redis."""

from __future__ import annotations

import os
import socket
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
    settings.MODEL_ROOT = tmp_path / "models"
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """A real `celery worker` process on every queue, against this test database and Redis.

    Yields the Popen; tests may kill it. Needs PostgreSQL: the worker is a separate process and
    must see committed rows of the test database.
    """
    yield from _worker(settings, tmp_path)


def _worker(settings, tmp_path, extra_env: dict | None = None, concurrency: int = 1):
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the worker is not under pytest: DEBUG off needs a key
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "MODEL_ROOT": str(settings.MODEL_ROOT),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "annotate", "worker", "-Q", "default,preannotate,exports,train",
         "-c", str(concurrency), "-P", "prefork", "--without-gossip", "--without-mingle", "-n", hostname, "-l", "INFO"],
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


REDIS_SERVER = "/usr/bin/redis-server"
OWN_REDIS_PORTS = range(6390, 6400)  # this suite's own range: the shared Redis on 6379 is never touched


def _free_port() -> int:
    for port in OWN_REDIS_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # all taken (parallel runs): any free port
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server (no persistence) that a fault test may stop and start again."""

    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self) -> None:
        """Gone at once, as a restarted Redis is (`redis-cli shutdown nosave`): every connection
        closed, nothing kept."""
        if self.proc and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                    conn.sendall(b"SHUTDOWN NOSAVE\r\n")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def _use_broker(url: str | None) -> None:
    """Point this process's Celery app at another broker (its connection pools are rebuilt).

    Celery takes its pool from kombu's process-wide registry, keyed by broker URL: closing only the
    app's pool would leave a closed pool there, handed back to the next user of the same URL (the
    shared Redis afterwards, or the next private server on the same port): "Acquire on closed pool"."""
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def own_redis(tmp_path):
    """A private redis-server on a free port (6390-6399 first); this process publishes to it."""
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"{REDIS_SERVER} is not installed")
    server = RedisServer(tmp_path)
    server.start()
    previous = celery_app.conf.broker_url
    _use_broker(server.url)
    try:
        yield server
    finally:
        _use_broker(previous)
        server.stop()


@pytest.fixture
def own_redis_worker(transactional_db, settings, tmp_path, own_redis):
    """A real worker process (as `celery_worker`) whose broker is the private redis-server of `own_redis`."""
    # Two pool processes, as `make run` starts it: with one, celery 5.7.0's crash on a Redis restart
    # (annotate/broker.py) did not show here.
    yield from _worker(settings, tmp_path, {"REDIS_URL": own_redis.url, "CELERY_BROKER_URL": own_redis.url},
                       concurrency=2)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll until predicate() is truthy; returns its value or fails the test with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
