"""Token-layer backfill task (annotate.services.token_layers), on the `preannotate` queue by its name."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from annotate.services.token_layers import token_layers_analyse


# Idempotent (valid layers are skipped), so a redelivery after a lost worker is harmless.
@shared_task(name="annotate.preannotate_token_layers", autoretry_for=(OperationalError, InterfaceError),
             max_retries=5, retry_backoff=True, acks_late=True)
def preannotate_token_layers(article_ids: list[int], force: bool = False) -> dict:
    return token_layers_analyse(article_ids=article_ids, force=force)
