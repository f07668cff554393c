"""Export tasks (annotate.exports): thin callers of annotate.services.exports (G7).

Routed to the `exports` queue by name (settings.CELERY_TASK_ROUTES). `acks_late` with
`task_reject_on_worker_lost`: a killed pool process gives its message back at once; the
service's attempt counter and heartbeat make a second delivery harmless.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError

from annotate.services.exports import TRANSIENT_ERRORS, ExportBusy, export_build, exports_sweep

logger = logging.getLogger("standpoint.exports")

@shared_task(name="annotate.export_build", bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=5, retry_backoff_max=120, retry_jitter=False, max_retries=5)
def export_build_task(self, export_id: int) -> None:
    try:
        export_build(export_id=export_id)
    except ExportBusy as busy:
        # Another delivery of this job is running (redelivery after a visibility timeout, or a
        # re-queue that raced): look again once that attempt could have gone stale.
        try:
            raise self.retry(countdown=busy.retry_in, max_retries=20) from None
        except MaxRetriesExceededError:
            logger.info("export %s: still held by another worker; leaving it to that attempt", export_id)


# The periodic sweep (settings.CELERY_BEAT_SCHEDULE): stale RUNNING jobs and undelivered QUEUED
# ones. Its name does not match the `annotate.export_*` route: it runs on the default queue, never
# behind a long export.
@shared_task(name="annotate.sweep_exports", acks_late=True)
def exports_sweep_task() -> int:
    return exports_sweep()


# The name earlier releases scheduled; kept so that a message already queued under it still runs.
@shared_task(name="annotate.export_sweep_stale", acks_late=True)
def export_sweep_stale_task() -> int:
    return exports_sweep()
