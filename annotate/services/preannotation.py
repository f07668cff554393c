"""Pre-annotation: model suggestions (entities, quotations, speakers) for a project's articles.

Queued in chunks of CHUNK_SIZE articles, one Celery task per chunk (queue `preannotate`); each
chunk runs `nlp.pipe` over its texts and writes the suggestions with bulk inserts, and the
article's token layer (annotate.nlp.token_layer) computed from the same Docs, so that exports
never run spaCy again for it.

Delivery: chunks are sent after the articles commit (G6); if the broker does not take them the
import still succeeds (a warning is logged) and the articles stay `pending`. The periodic sweep
(`preannotation_sweep`: beat, or the in-process timer) finds pending work with no live delivery:
a QUEUED/RUNNING run whose chunks have not moved for PREANNOTATION_STALE_SECONDS is marked
failed, and a project's pending articles with no live run are queued again as a new run. A chunk
delivered twice is harmless: it skips the articles already done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import reset_queries, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate.models import Article, PreannotationRun, Project, Span, TokenLayerRow, text_hash
from annotate.nlp.extract import ArticleResult, process_texts
from annotate.nlp.loading import LoadedPipeline, describe_configured_pipeline, get_pipeline

logger = logging.getLogger("standpoint.preannotation")

# Articles per task: enough for nlp.pipe to batch well and to amortise the per-task overhead
# (~2-5 s of work at ~3k words/s), small enough that a lost worker redoes little and progress moves.
CHUNK_SIZE = 100
SPAN_WRITE_BATCH = 2000
MODEL_SUGGESTION = {"origin": Span.Origin.MODEL, "annotation__isnull": True, "gold__isnull": True}
LIVE_STATUSES = (PreannotationRun.Status.QUEUED, PreannotationRun.Status.RUNNING)


def stale_seconds() -> int:
    return int(getattr(settings, "PREANNOTATION_STALE_SECONDS", 900))


def preannotation_queue(*, project: Project, article_ids: Sequence[int] | None = None, force: bool = False):
    """Queue pre-annotation of these articles (all of the project when None) and return the run.

    Without `force` only articles still `pending` are queued (so an import that merely updated
    metadata does not redo them); with it every selected article is redone. Tasks are sent after
    the surrounding transaction commits (G6). Returns None when there is nothing to do.
    """
    articles = Article.objects.filter(project=project)
    if article_ids is not None:
        articles = articles.filter(pk__in=list(article_ids))
    if not force:
        articles = articles.filter(preannotation_status=Article.Preannotation.PENDING)
    ids = list(articles.order_by("id").values_list("id", flat=True))
    if not ids:
        return None
    chunks = [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]
    info = describe_configured_pipeline()
    run = PreannotationRun.objects.create(
        project=project, total=len(ids), chunks_total=len(chunks),
        model_name=info["name"] or "", model_version=info["version"] or "", heartbeat_at=timezone.now(),
    )
    Article.objects.filter(pk__in=ids).update(
        preannotation_status=Article.Preannotation.PENDING, preannotation_error="")

    def send() -> None:
        from annotate.celery import enqueue
        from annotate.tasks.preannotation import preannotate_chunk

        for n, chunk in enumerate(chunks):
            if not enqueue(preannotate_chunk, run_id=run.pk, article_ids=chunk, force=force):
                # The broker is down: the rest would fail too, each after its timeout. The run
                # stays queued, its articles pending; the sweep queues them again.
                logger.warning("pre-annotation run %s: %d of %d chunks not sent; the sweep will queue them",
                               run.pk, len(chunks) - n, len(chunks))
                return

    transaction.on_commit(send)
    logger.info("pre-annotation run %s for %s: %d articles in %d chunks", run.pk, project.slug, len(ids), len(chunks))
    return run


def _spans_for(article_id: int, result: ArticleResult, pipeline: LoadedPipeline) -> list[Span]:
    common = {"article_id": article_id, "origin": Span.Origin.MODEL,
              "model_name": pipeline.name, "model_version": pipeline.version}
    spans: list[Span] = []
    seen: set[tuple[int, int, str]] = set()

    def add(start: int, end: int, label: str, attrs: dict) -> None:
        if end <= start or (start, end, label) in seen:
            return
        seen.add((start, end, label))
        spans.append(Span(start=start, end=end, label=label, attrs=attrs, **common))

    for ent in result.entities:
        add(ent["start"], ent["end"], ent["label"], {})
    for q in result.quotes:
        add(q["start"], q["end"], "QUOTE",
            {"kind": q["kind"], "speaker": q["speaker"], "speaker_span": q["speaker_span"]})
        if q["speaker_span"]:
            add(q["speaker_span"]["start"], q["speaker_span"]["end"], "SPEAKER", {"speaker": q["speaker"]})
    return spans


def preannotation_process_chunk(*, run_id: int, article_ids: Iterable[int], force: bool = False) -> dict:
    """Pre-annotate one chunk of a run: compute suggestions, replace the model's old ones, record
    per-article status and the run's progress.

    Invariants: only the model's own suggestions (origin model, no annotation, no gold) are
    replaced — human and imported spans are never touched; running a chunk twice gives the same
    rows (a redelivered task skips articles already done unless `force`); one article that fails
    is recorded as failed with its reason and never stops the others.
    """
    run = PreannotationRun.objects.filter(pk=run_id).first()
    if run is None:
        return {"skipped": "run deleted"}
    if run.status == PreannotationRun.Status.QUEUED:
        PreannotationRun.objects.filter(pk=run_id, status=PreannotationRun.Status.QUEUED).update(
            status=PreannotationRun.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    articles = Article.objects.filter(pk__in=list(article_ids), project_id=run.project_id).order_by("id")
    if not force:
        articles = articles.exclude(preannotation_status=Article.Preannotation.DONE)
    rows = list(articles.values_list("id", "text"))
    texts = dict(rows)
    pipeline = get_pipeline()
    now = timezone.now()
    spans: list[Span] = []
    layers: list[TokenLayerRow] = []
    done: list[int] = []
    failed: dict[int, str] = {}
    snapped = 0
    # memory_zone frees the strings spaCy interns for these texts: a worker stays flat over 10k articles
    with pipeline.nlp.memory_zone():
        for result in process_texts(pipeline, rows, token_layers=True):
            if result.error:
                failed[result.key] = result.error
            else:
                done.append(result.key)
                spans.extend(_spans_for(result.key, result, pipeline))
                snapped += result.spans_snapped
                if result.layer is not None:
                    layers.append(TokenLayerRow(
                        article_id=result.key, pipeline=pipeline.layer_key, text_hash=text_hash(texts[result.key]),
                        data=result.layer, tokens=result.layer_tokens))
    with transaction.atomic():
        Span.objects.filter(article_id__in=done + list(failed), **MODEL_SUGGESTION).delete()
        Span.objects.bulk_create(spans, batch_size=SPAN_WRITE_BATCH)
        token_layers_store(layers)
        Article.objects.filter(pk__in=done).update(
            preannotation_status=Article.Preannotation.DONE, preannotation_error="",
            preannotated_at=now, preannotation_model=pipeline.label)
        if failed:
            Article.objects.filter(pk__in=list(failed)).update(
                preannotation_status=Article.Preannotation.FAILED, preannotated_at=now,
                preannotation_model=pipeline.label,
                preannotation_error=Case(*[When(pk=k, then=Value(v)) for k, v in failed.items()]))
        PreannotationRun.objects.filter(pk=run_id).update(
            processed=F("processed") + len(done) + len(failed), failed=F("failed") + len(failed),
            chunks_done=F("chunks_done") + 1, model_name=pipeline.name, model_version=pipeline.version,
            heartbeat_at=timezone.now())
        # Only a live run finishes: one the sweep gave up on stays failed even if a late chunk lands.
        PreannotationRun.objects.filter(
            pk=run_id, chunks_done__gte=F("chunks_total"), status__in=LIVE_STATUSES,
        ).update(status=PreannotationRun.Status.DONE, finished_at=timezone.now())
    reset_queries()  # DEBUG keeps every SQL statement; a long-running worker must not
    for key, reason in failed.items():
        logger.warning("pre-annotation of article %s failed: %s", key, reason)
    if snapped:
        logger.info("pre-annotation run %s: %d quote/speaker boundaries snapped out of grapheme clusters",
                    run_id, snapped)
    return {"done": len(done), "failed": len(failed), "spans": len(spans), "spans_snapped": snapped,
            "token_layers": len(layers)}


def token_layers_store(layers: list[TokenLayerRow]) -> None:
    """Insert or replace these articles' token layers (one row per article)."""
    if layers:
        TokenLayerRow.objects.bulk_create(
            layers, batch_size=500, update_conflicts=True, unique_fields=["article"],
            update_fields=["pipeline", "text_hash", "data", "tokens", "computed_at"])


def _stale_runs(cutoff):
    return (PreannotationRun.objects.filter(status__in=LIVE_STATUSES)
            .annotate(last_moved=Coalesce("heartbeat_at", "started_at", "created_at"))
            .filter(last_moved__lt=cutoff))


def preannotation_sweep() -> dict:
    """Deliver pre-annotation that is pending with no live delivery (the periodic sweep).

    A QUEUED/RUNNING run whose chunks have not moved for PREANNOTATION_STALE_SECONDS lost its
    messages (never sent, or lost with the broker): it is marked failed with the reason. Then
    every project that has `pending` articles and no live run gets a new run for them. Safe to
    run twice at once: the project row is locked while its live runs are checked.
    """
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    given_up = 0
    for run_id in _stale_runs(cutoff).order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            run = _stale_runs(cutoff).select_for_update().filter(pk=run_id).first()
            if run is None:
                continue
            run.status = PreannotationRun.Status.FAILED
            run.finished_at = timezone.now()
            run.error = (f"no chunk moved since {run.last_moved.isoformat(timespec='seconds')} "
                         f"({run.chunks_done} of {run.chunks_total} chunks done): its messages were lost; "
                         "the pending articles are queued again")
            run.save(update_fields=["status", "finished_at", "error"])
            given_up += 1
            logger.warning("pre-annotation run %s of project %s: %s", run.pk, run.project_id, run.error)
    queued = []
    # One indexed EXISTS per project (article_preannotation), not a scan of every article.
    pending_projects = Project.objects.filter(Exists(Article.objects.filter(
        project=OuterRef("pk"), preannotation_status=Article.Preannotation.PENDING))).order_by("pk").values_list(
        "pk", flat=True)
    for project_id in list(pending_projects):
        with transaction.atomic():
            project = Project.objects.select_for_update().filter(pk=project_id).first()
            if project is None or PreannotationRun.objects.filter(
                    Q(project=project) & Q(status__in=LIVE_STATUSES)).exists():
                continue
            run = preannotation_queue(project=project)
            if run is not None:
                queued.append(run.pk)
    return {"runs_given_up": given_up, "runs_queued": queued}
