"""Backfill of the stored token layer (annotate.nlp.token_layer) for existing articles.

`manage.py analyse --project SLUG [--force]` runs the chunks in-process with progress; with
`--queue` they are Celery tasks on the `preannotate` queue (`annotate.preannotate_token_layers`).

Invariants: a chunk is idempotent and commits on its own, so an interrupted backfill resumes
where it stopped (without `force` only articles without a valid layer for the configured
pipeline are selected: missing, another pipeline or layer format, or computed on another text);
the layers are computed by the export pipeline, whose output is the one exports would compute
on the fly, so a backfilled layer and an on-the-fly one are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import reset_queries, transaction
from django.db.models import Exists, F, OuterRef

from annotate.models import Article, Project, TokenLayerRow, text_hash

logger = logging.getLogger("standpoint.tokens")

# Articles per chunk: ~10 s of the export pipeline on 3,500-character articles on one core,
# so progress moves and a lost worker redoes little.
ANALYSE_CHUNK = 200


@dataclass
class LayerStatus:
    articles: int
    valid: int
    pipeline: str

    @property
    def missing(self) -> int:
        return self.articles - self.valid


def _expected_key() -> str:
    from annotate.exports.tokens import expected_pipeline_key

    return expected_pipeline_key()


def token_layers_needing_analysis(*, project: Project, force: bool = False) -> list[int]:
    """Ids (ascending) of the project's articles without a valid layer for the configured pipeline."""
    articles = Article.objects.filter(project=project)
    if not force:
        valid = TokenLayerRow.objects.filter(article=OuterRef("pk"), pipeline=_expected_key(),
                                             text_hash=OuterRef("content_hash"))
        articles = articles.exclude(Exists(valid))
    return list(articles.order_by("id").values_list("id", flat=True))


def token_layers_status(*, project: Project) -> LayerStatus:
    key = _expected_key()
    total = Article.objects.filter(project=project).count()
    valid = TokenLayerRow.objects.filter(article__project=project, pipeline=key,
                                         text_hash=F("article__content_hash")).count()
    return LayerStatus(total, valid, key)


def token_layers_analyse(*, article_ids: Sequence[int], force: bool = False) -> dict:
    """Compute and store the layers of these articles (one chunk). Without `force`, articles
    whose layer is already valid are skipped (a redelivered task does nothing twice)."""
    from annotate.exports.tokens import analyse_texts
    from annotate.services.preannotation import token_layers_store

    rows = list(Article.objects.filter(pk__in=list(article_ids)).order_by("id").values_list("id", "text"))
    if not force and rows:
        have = dict(TokenLayerRow.objects.filter(article_id__in=[r[0] for r in rows]).values_list(
            "article_id", "text_hash"))
        key = _expected_key()
        current = set(TokenLayerRow.objects.filter(article_id__in=list(have), pipeline=key).values_list(
            "article_id", flat=True))
        rows = [(i, t) for i, t in rows if not (i in current and have.get(i) == text_hash(t))]
    if not rows:
        return {"analysed": 0, "skipped": len(article_ids)}
    layers, key = analyse_texts([t for _, t in rows])
    from annotate.nlp.token_layer import encode

    objs = [TokenLayerRow(article_id=i, pipeline=key, text_hash=text_hash(t), data=encode(layer), tokens=len(layer))
            for (i, t), layer in zip(rows, layers, strict=True)]
    with transaction.atomic():
        token_layers_store(objs)
    reset_queries()
    return {"analysed": len(objs), "skipped": len(article_ids) - len(objs)}


def token_layers_queue(*, project: Project, force: bool = False) -> int:
    """Send the project's chunks to the `preannotate` queue after commit; returns the article count."""
    ids = token_layers_needing_analysis(project=project, force=force)
    chunks = [ids[i : i + ANALYSE_CHUNK] for i in range(0, len(ids), ANALYSE_CHUNK)]

    def send() -> None:
        from annotate.tasks.tokens import preannotate_token_layers

        for chunk in chunks:
            preannotate_token_layers.delay(article_ids=chunk, force=force)

    transaction.on_commit(send)
    logger.info("token layers for %s: %d articles in %d chunks queued", project.slug, len(ids), len(chunks))
    return len(ids)
