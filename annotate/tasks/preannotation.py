"""Pre-annotation tasks (annotate.nlp): thin callers of annotate.services.preannotation (G7)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from annotate.services.preannotation import preannotation_process_chunk, preannotation_sweep


# Retries only on transient database errors; the work is idempotent, so a redelivery is harmless.
@shared_task(name="annotate.preannotate_chunk", autoretry_for=(OperationalError, InterfaceError),
             max_retries=5, retry_backoff=True, acks_late=True)
def preannotate_chunk(run_id: int, article_ids: list[int], force: bool = False) -> dict:
    return preannotation_process_chunk(run_id=run_id, article_ids=article_ids, force=force)


# The periodic sweep (settings.CELERY_BEAT_SCHEDULE); on the default queue (its name does not
# match the `annotate.preannotate_*` route), so it never waits behind a long run.
@shared_task(name="annotate.sweep_preannotation", acks_late=True)
def preannotation_sweep_task() -> dict:
    return preannotation_sweep()
