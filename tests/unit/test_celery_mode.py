"""Embedded default: with no Redis answering, tasks run in-process and the log says so once."""

import logging

from annotate.celery import app as celery_app
from annotate.celery import configure_execution_mode


def test_no_redis_means_in_process_with_one_warning(settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = None
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING, logger="standpoint.celery"):
        configure_execution_mode()
    assert celery_app.conf.task_always_eager is True
    assert [r.getMessage() for r in caplog.records if "run in-process" in r.getMessage()] != []
    assert len(caplog.records) == 1


def test_redis_answering_means_broker_mode(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = None
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    configure_execution_mode()
    assert celery_app.conf.task_always_eager is False


def test_explicit_setting_wins(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    configure_execution_mode()
    assert celery_app.conf.task_always_eager is True


_WORKER_START = """
import sys, types
import django
django.setup()
from celery.signals import celeryd_after_setup
from annotate.celery import app
app.amqp.queues.select({queues!r})
celeryd_after_setup.send(sender="w@host", instance=types.SimpleNamespace(app=app), conf=app.conf)
print("spacy" in sys.modules)
"""


def _spacy_imported_at_worker_start(queues: list[str]) -> bool:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotate.settings", "SECRET_KEY": "test-only-" + "x" * 50}
    out = subprocess.run([sys.executable, "-c", _WORKER_START.format(queues=queues)], env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_a_worker_serving_exports_imports_spacy_before_its_pool_forks_and_others_do_not():
    """The pool's processes then share spaCy's pages instead of each importing it inside its first
    DocBin export (1.1 s of it); a worker for the default queue alone does not carry it."""
    assert _spacy_imported_at_worker_start(["exports"]) is True
    assert _spacy_imported_at_worker_start(["default"]) is False
