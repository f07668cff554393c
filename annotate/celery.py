"""The Celery app. Workers: `celery -A annotate worker -Q default,preannotate,exports`."""

import logging
import os
import socket
from urllib.parse import urlparse

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")

logger = logging.getLogger("standpoint.celery")
app = Celery("annotate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_reachable(url: str, timeout: float = 0.3) -> bool:
    """A plain TCP probe: cheap enough for start-up, and it never hangs the web process."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        return True
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout):
            return True
    except OSError:
        return False


def configure_execution_mode() -> None:
    """Embedded default: run tasks in-process when no Redis answers, and say so once."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER is not None:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
        return
    if broker_reachable(settings.CELERY_BROKER_URL):
        app.conf.task_always_eager = False
    else:
        app.conf.task_always_eager = True
        logger.warning(
            "No Redis answers at %s: background tasks (pre-annotation, exports) run in-process. "
            "Start Redis and a worker for a real deployment.",
            settings.CELERY_BROKER_URL,
        )
