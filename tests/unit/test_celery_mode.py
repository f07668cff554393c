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
