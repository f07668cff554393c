"""The Celery app. Workers: `celery -A annotate worker -Q default,preannotate,exports,train`; periodic
sweeps: `celery -A annotate beat` beside them (the schedule is settings.CELERY_BEAT_SCHEDULE)."""

import logging
import os
import socket
import threading
from urllib.parse import urlparse

import kombu.exceptions
import redis.exceptions
from celery import Celery
from celery.signals import celeryd_after_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")

logger = logging.getLogger("standpoint.celery")
app = Celery("annotate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Queues whose tasks import spaCy: the DocBin export and pre-annotation.
SPACY_QUEUES = {"exports", "preannotate"}


@celeryd_after_setup.connect
def _import_spacy_before_the_pool_forks(sender=None, instance=None, **kwargs) -> None:
    """A worker serving exports or pre-annotation imports spaCy once, before its pool processes
    are forked (they share the pages): otherwise each of them paid it inside its first such task,
    1.1 s and 82 MB measured here, a sixth of a 10k-article DocBin export."""
    if instance is None:
        return
    queues = instance.app.amqp.queues
    names = set(queues.consume_from or queues)
    if SPACY_QUEUES & names:
        try:
            import spacy.tokens  # noqa: F401
        except Exception as exc:  # the task will say what is wrong, in its own job
            logger.warning("could not import spaCy at worker start: %s", exc)


# What a publish raises when the broker is down or unreachable (kombu wraps most of them in its
# OperationalError; a socket timeout or a refused connection may surface as they are).
BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.ConnectionError,
                 redis.exceptions.TimeoutError, OSError)


def enqueue(task, *args, **kwargs) -> bool:
    """Send a task; if the broker does not take it, log a warning and return False, never raise.

    For work whose committed row says it is due (a QUEUED export, a pending pre-annotation): the
    periodic sweep finds it and sends it again, so a broker outage delays the work instead of
    turning a request that already committed into a 500.
    """
    if app.conf.task_always_eager:  # in-process: the task's own errors are not broker errors
        task.apply_async(args=args, kwargs=kwargs)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except BROKER_ERRORS as exc:
        logger.warning("could not queue %s%s: broker unavailable (%s: %s); the periodic sweep will queue it",
                       task.name, args or kwargs, type(exc).__name__, exc)
        return False
    return True


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


_sweeper_lock = threading.Lock()
_sweeper: threading.Thread | None = None
_sweeper_stop = threading.Event()


def run_sweeps() -> dict:
    """One pass of every periodic sweep (what beat schedules), in this process."""
    from annotate.services.exports import exports_sweep
    from annotate.services.preannotation import preannotation_sweep

    return {"exports": exports_sweep(), "preannotation": preannotation_sweep()}


def start_inprocess_sweeper() -> threading.Thread | None:
    """In-process mode (no broker, so no beat): run the sweeps on a daemon timer in this web process.

    Started once per process (gunicorn workers and runserver import annotate.wsgi once); does
    nothing when tasks go to a broker, where beat does this job, or when INPROCESS_SWEEP_SECONDS=0.
    """
    global _sweeper
    from django.conf import settings

    interval = float(getattr(settings, "INPROCESS_SWEEP_SECONDS", 60))
    if not app.conf.task_always_eager or interval <= 0:
        return None
    with _sweeper_lock:
        if _sweeper is not None and _sweeper.is_alive():
            return _sweeper
        _sweeper_stop.clear()
        _sweeper = threading.Thread(target=_sweep_forever, args=(interval, _sweeper_stop),
                                    name="standpoint-sweeper", daemon=True)
        _sweeper.start()
        logger.info("in-process mode: periodic sweeps every %s s in this web process", interval)
        return _sweeper


def stop_inprocess_sweeper(timeout: float = 10.0) -> None:
    """Stop the timer (tests; a web process just exits, the thread is a daemon)."""
    _sweeper_stop.set()
    if _sweeper is not None:
        _sweeper.join(timeout)


def _sweep_forever(interval: float, stop: threading.Event) -> None:
    from django.db import close_old_connections, connection

    while not stop.wait(interval):
        try:
            run_sweeps()
        except Exception:  # a failed pass must not end the timer: the next one may succeed
            logger.exception("periodic sweep failed")
        finally:
            close_old_connections()
            connection.close()
