"""Article import: validate the whole file first, then write in bulk, all or nothing.

One service for every caller: `manage.py import_articles`, the REST upload, the demo and tests.
"""

from __future__ import annotations

import logging
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import reset_queries, transaction

from annotate.errors import ImportRejected
from annotate.hotsql import copy_insert
from annotate.importing.readers import FORMATS, LineError, detect_format, read_records, spool_upload
from annotate.importing.validate import ArticleIn, check_gold, validate_record
from annotate.models import (
    Article,
    ArticlePrediction,
    Gold,
    Project,
    Span,
    TokenLayerRow,
    TrainedModel,
    text_hash,
)
from annotate.services.queue import queue_statistics_refresh
from annotate.services.stories import (
    MAX_REPORTED_DUPLICATES,
    DuplicateFinder,
    stories_assign_request,
    stories_set_from_import,
    story_recompute_request,
)

logger = logging.getLogger(__name__)

WRITE_BATCH = 500  # rows per bulk insert: large enough to amortise round trips, small enough for memory
MAX_REPORTED_ERRORS = 1000  # a file with a million broken lines still gets a readable report


@dataclass
class ImportReport:
    format: str = ""
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    invalid_count: int = 0
    article_ids: list[int] = field(default_factory=list, repr=False)
    gold_imported: int = 0
    gold_kept: list[dict] = field(default_factory=list)  # a reviewer's gold was there: not replaced
    # Near-duplicates of existing (or earlier) articles found by this import (annotate.services.stories).
    duplicates: list[dict] = field(default_factory=list)
    duplicates_count: int = 0
    stories_set: int = 0

    def as_dict(self) -> dict:
        return {
            "format": self.format, "records": self.records, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": self.skipped, "invalid": self.invalid,
            "invalid_count": self.invalid_count, "gold_imported": self.gold_imported, "gold_kept": self.gold_kept,
            "duplicates": self.duplicates,
            "duplicates_count": self.duplicates_count, "stories_set": self.stories_set,
        }

    def summary(self) -> str:
        parts = [f"{self.created} created", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.invalid_count:
            parts.append(f"{self.invalid_count} invalid lines skipped")
        if self.gold_imported:
            parts.append(f"{self.gold_imported} gold labels imported")
        if self.duplicates_count:
            parts.append(f"{self.duplicates_count} near-duplicates")
        return f"{self.records} records: " + ", ".join(parts)


def _validated(path: Path, fmt: str, project: Project) -> Iterator[ArticleIn | list[LineError]]:
    span_labels = set(project.span_labels)
    codebook = {"target_keys": list(project.targets.values_list("key", flat=True)),
                "stance_labels": project.stance_labels, "frames": project.frames}
    seen_ids: dict[str, int] = {}
    for line, item in read_records(path, fmt):
        if isinstance(item, LineError | list):  # refused by the reader (one error or several)
            yield item if isinstance(item, list) else [item]
            continue
        result = validate_record(item, line, span_labels=span_labels, max_chars=settings.IMPORT_MAX_TEXT_CHARS)
        if isinstance(result, ArticleIn) and result.external_id is not None:
            first = seen_ids.setdefault(result.external_id, line)
            if first != line:
                result = [LineError(line, "id", f"duplicate id {result.external_id!r} (first on line {first})")]
        if isinstance(result, ArticleIn) and result.gold is not None:
            result.gold, gold_errors = check_gold(result.gold, line=line, **codebook)
            if gold_errors:
                result = gold_errors
        yield result


def _check(path: Path, fmt: str, project: Project, report: ImportReport, spill) -> set[int]:
    """First pass: count records and collect every error; returns the lines that are bad. The
    valid records are pickled to `spill` in batches of WRITE_BATCH, so the write pass reads them
    back instead of parsing and validating the file a second time (a tenth of a 100k import),
    and memory stays bounded by one batch."""
    bad_lines: set[int] = set()
    batch: list[ArticleIn] = []
    for result in _validated(path, fmt, project):
        report.records += 1
        if isinstance(result, list):
            report.invalid_count += 1
            bad_lines.add(result[0].line)
            for error in result:
                if len(report.invalid) < MAX_REPORTED_ERRORS:
                    report.invalid.append(error.as_dict())
            continue
        batch.append(result)
        if len(batch) == WRITE_BATCH:
            pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
    return bad_lines


def _spilled_batches(spill) -> Iterator[list[ArticleIn]]:
    """The valid records that `_check` spilled, batch by batch, in file order."""
    spill.seek(0)
    while True:
        try:
            yield pickle.load(spill)  # our own file, written by _check moments ago: trusted
        except EOFError:
            return


METADATA_FIELDS = ("title", "source", "url", "published", "meta")


def _write_batch(project: Project, batch: list[ArticleIn], report: ImportReport, finder: DuplicateFinder,
                 by=None) -> None:
    ids = [a.external_id for a in batch if a.external_id is not None]
    hashes = [text_hash(a.text) for a in batch]
    by_id = {a.external_id: a for a in Article.objects.filter(project=project, external_id__in=ids)} if ids else {}
    idless_hashes = [h for a, h in zip(batch, hashes, strict=True) if a.external_id is None]
    by_hash = set(
        Article.objects.filter(project=project, external_id__isnull=True, content_hash__in=idless_hashes)
        .values_list("content_hash", flat=True)
    ) if idless_hashes else set()

    # One query for the batch, not one per article: which existing articles already have work.
    assigned = set(
        Article.objects.filter(pk__in=[a.pk for a in by_id.values()], assignments__isnull=False)
        .values_list("pk", flat=True).distinct()
    ) if by_id else set()

    to_create: list[tuple[Article, ArticleIn]] = []
    to_update: list[Article] = []
    replace_spans: list[tuple[Article, ArticleIn]] = []
    retexted: list[int] = []
    fresh_text: list[Article] = []
    lines: dict[int, int] = {}
    stories: list[tuple[Article, str]] = []
    for item, digest in zip(batch, hashes, strict=True):
        existing = by_id.get(item.external_id) if item.external_id is not None else None
        if existing is None:
            if item.external_id is None and digest in by_hash:
                report.unchanged += 1
                continue
            by_hash.add(digest)
            article = Article(
                project=project, external_id=item.external_id, text=item.text, content_hash=digest,
                **{f: getattr(item, f) for f in METADATA_FIELDS},
            )
            to_create.append((article, item))
            continue
        text_changed = existing.content_hash != digest
        if text_changed and existing.pk in assigned:
            report.skipped.append({
                "line": item.line, "id": item.external_id,
                "reason": "the text changed but the article is already assigned or annotated; "
                          "text is immutable once annotated (import it under a new id)",
            })
            continue
        changed = text_changed or any(getattr(existing, f) != getattr(item, f) for f in METADATA_FIELDS)
        if text_changed:
            existing.text, existing.content_hash = item.text, digest
            existing.preannotation_status = Article.Preannotation.PENDING
            existing.preannotation_error = ""
            retexted.append(existing.pk)
            fresh_text.append(existing)
            lines[existing.pk] = item.line
        for f in METADATA_FIELDS:
            setattr(existing, f, getattr(item, f))
        if item.spans or text_changed:
            replace_spans.append((existing, item))
        if item.story is not None:
            stories.append((existing, item.story))
        if changed or item.spans or item.gold is not None:
            to_update.append(existing)
            report.updated += 1
            report.article_ids.append(existing.pk)
        else:
            report.unchanged += 1

    if retexted:
        # Suggestions were computed on the old text: their offsets are meaningless now.
        Span.objects.filter(article_id__in=retexted, annotation__isnull=True, gold__isnull=True).delete()
        # …and so were their token layers (exports would also reject them by their text hash).
        TokenLayerRow.objects.filter(article_id__in=retexted).delete()
        # …and the model's prediction: no suggestion from the old text; the worker predicts anew.
        ArticlePrediction.objects.filter(article_id__in=retexted).delete()
        Article.objects.filter(pk__in=retexted).update(queue_margin=None)
    if to_create:
        copy_insert([a for a, _ in to_create])  # COPY on PostgreSQL (annotate.hotsql), bulk_create elsewhere
        report.created += len(to_create)
        report.article_ids.extend(a.pk for a, _ in to_create)
        stories.extend((a, item.story) for a, item in to_create if item.story is not None)
    if to_update:
        Article.objects.bulk_update(
            to_update, ["text", "content_hash", "preannotation_status", "preannotation_error", *METADATA_FIELDS],
            batch_size=WRITE_BATCH)
    if replace_spans:
        Span.objects.filter(
            article__in=[a for a, _ in replace_spans], origin=Span.Origin.IMPORT,
            annotation__isnull=True, gold__isnull=True,
        ).delete()
    spans = [
        Span(article=article, start=s.start, end=s.end, label=s.label, attrs=s.attrs, origin=Span.Origin.IMPORT)
        for article, item in (*to_create, *replace_spans) for s in item.spans
    ]
    if spans:
        Span.objects.bulk_create(spans, batch_size=WRITE_BATCH)
    lines.update((a.pk, item.line) for a, item in to_create)
    _record_duplicates([a for a, _ in to_create] + fresh_text, lines, report, finder, replaced={a.pk for a in fresh_text})
    if stories:
        report.stories_set += stories_set_from_import(project=project, assignments=[(a.pk, k) for a, k in stories])
    with_gold = [(a, item) for a, item in (*to_create, *((a, i) for a, i in _updated_items(to_update, batch)))
                 if item.gold is not None]
    if with_gold:
        _write_gold(project, with_gold, report, by)


def _record_duplicates(articles: list[Article], lines: dict[int, int], report: ImportReport,
                       finder: DuplicateFinder, replaced: set[int]) -> None:
    found = finder.find(articles, replaced)
    if not found:
        return
    report.duplicates_count += len(found)
    room = MAX_REPORTED_DUPLICATES - len(report.duplicates)
    if room <= 0:
        return
    names = dict(Article.objects.filter(pk__in=[d.duplicate_of for d in found[:room]])
                 .values_list("pk", "external_id"))
    by_pk = {a.pk: a for a in articles}
    for d in found[:room]:
        article = by_pk[d.article_id]
        report.duplicates.append({
            "line": lines.get(d.article_id), "article_id": d.article_id, "id": article.external_id or str(d.article_id),
            "duplicate_of": d.duplicate_of, "duplicate_of_id": names.get(d.duplicate_of) or str(d.duplicate_of),
            "similarity": d.similarity,
        })


def _updated_items(updated: list[Article], batch: list[ArticleIn]):
    items = {a.external_id: a for a in batch if a.external_id is not None}
    return [(a, items[a.external_id]) for a in updated if a.external_id in items]


def _write_gold(project: Project, pairs: list[tuple[Article, ArticleIn]], report: ImportReport, by) -> None:
    """Gold with method `imported` for the articles whose record carries `gold`. A reviewer's gold
    (adjudicated, accepted unanimous) is kept and reported; automatic or earlier imported gold is
    replaced. Audited per article (`gold.import`)."""
    from annotate.selectors.adjudication import HUMAN_GOLD
    from annotate.services.audit import audit_record_many
    from annotate.services.gold import gold_snapshot

    existing = {g.article_id: g for g in Gold.objects.filter(article_id__in=[a.pk for a, _ in pairs])}
    to_create, to_update, events = [], [], []
    actor = by if getattr(by, "is_authenticated", False) else None
    for article, item in pairs:
        gold = existing.get(article.pk)
        if gold is not None and gold.method in HUMAN_GOLD:
            report.gold_kept.append({"line": item.line, "id": item.external_id,
                                     "reason": f"the article has {gold.method} gold from a reviewer: kept"})
            continue
        before = gold_snapshot(gold) if gold is not None else None
        values = {"stance": item.gold["stance"], "frames": item.gold["frames"],
                  "primary_frame": item.gold["primary_frame"], "method": Gold.Method.IMPORTED, "decided_by": actor,
                  "notes": ""}
        if gold is None:
            gold = Gold(article=article, **values)
            to_create.append(gold)
        else:
            for key, value in values.items():
                setattr(gold, key, value)
            gold.version += 1
            to_update.append(gold)
        events.append((gold, article, before))
    Gold.objects.bulk_create(to_create, batch_size=WRITE_BATCH)
    if to_update:
        Gold.objects.bulk_update(to_update, ["stance", "frames", "primary_frame", "method", "decided_by", "notes",
                                             "version"], batch_size=WRITE_BATCH)
    report.gold_imported += len(events)
    audit_record_many(project=project, by=by, action="gold.import", object_type="gold", items=[
        (gold.pk, f"gold for {article}", before, {"method": gold.method, "stance": gold.stance, "frames": gold.frames,
                                                "primary_frame": gold.primary_frame})
        for gold, article, before in events])


def articles_import(*, project: Project, source, filename: str | None = None, fmt: str = "auto",
                    skip_invalid: bool = False, by=None, queue_preannotation: bool = True,
                    queue_model: bool = True, queue_stories: bool = True) -> ImportReport:
    """Import articles into `project` from a path (file, folder, zip) or an uploaded file object.

    Invariants: the whole file is validated before anything is written; with any invalid record
    and `skip_invalid=False` nothing is written and ImportRejected carries every problem as
    `line N: field: what`; the write is one transaction; re-importing an external id updates it
    (or skips it when its text changed after annotation started), never duplicates it.
    New and changed articles are queued for pre-annotation after commit, and (`queue_model`) for
    the active model's predictions; imported gold may start a training run (annotate.services.training).
    """
    with tempfile.TemporaryDirectory(prefix="standpoint-import-") as tmp:
        if isinstance(source, str | Path):
            path = Path(source)
            if not path.exists():
                raise ImportRejected(f"{path}: no such file or folder", details={"errors": []})
        else:
            path = spool_upload(source, Path(tmp), filename or getattr(source, "name", "upload.jsonl"))
        try:
            if fmt not in ("auto", *FORMATS):
                raise ValueError(f"unknown import format {fmt!r}; choose one of auto, {', '.join(FORMATS)}")
            report = ImportReport(format=fmt if fmt != "auto" else detect_format(path))
        except ValueError as exc:
            raise ImportRejected(str(exc), details={"errors": []}) from None
        with tempfile.TemporaryFile(dir=tmp, prefix="validated-") as spill:
            _import_checked(project, path, report, spill, skip_invalid=skip_invalid, by=by,
                            queue_preannotation=queue_preannotation, queue_model=queue_model,
                            queue_stories=queue_stories)
    queue_statistics_refresh(new_articles=report.created)
    logger.info("import into %s by %s: %s", project.slug, by or "system", report.summary())
    return report


def _import_checked(project: Project, path: Path, report: ImportReport, spill, *, skip_invalid: bool, by,
                    queue_preannotation: bool, queue_model: bool, queue_stories: bool) -> None:
    """Validate the whole file (spilling the valid records), then write it in one transaction."""
    bad_lines = _check(path, report.format, project, report, spill)
    if report.records == 0:
        raise ImportRejected(f"{path.name}: the file holds no articles", details={"errors": []})
    if bad_lines and not skip_invalid:
        first = report.invalid[0]["text"]
        more = f" (and {report.invalid_count - 1} more invalid records)" if report.invalid_count > 1 else ""
        raise ImportRejected(
            f"{path.name}: nothing imported: {first}{more}",
            details={"errors": report.invalid, "invalid_count": report.invalid_count, "records": report.records},
        )
    with transaction.atomic():
        finder = DuplicateFinder(project)
        for batch in _spilled_batches(spill):
            _write_batch(project, batch, report, finder, by)
            if settings.DEBUG:
                reset_queries()  # DEBUG logs every SQL statement: 100k article texts would stay in memory
        finder.save()
        if queue_preannotation and report.article_ids:
            ids = list(report.article_ids)
            transaction.on_commit(lambda: _queue_preannotation(project, ids))
        if queue_model and report.article_ids:
            new_ids, labelled = list(report.article_ids), bool(report.gold_imported)
            transaction.on_commit(lambda: _queue_model_work(project, new_ids, labelled))
        if queue_stories and (report.updated or report.stories_set):
            # Existing articles changed (a text or a date may now belong to another story) or were
            # moved into stories by hand (the stories they left change): regroup.
            story_recompute_request(project=project, by=by)
        elif queue_stories and report.created:
            # Only new articles: they join the existing stories, which stay as they are.
            stories_assign_request(project=project, by=by)


def _queue_model_work(project: Project, article_ids: list[int], labelled: bool) -> None:
    """New articles get the active model's predictions; new gold may reach the training threshold."""
    # Most imports have neither gold nor an active model: one query says so without importing the
    # trainer, whose scikit-learn import costs the import seconds (about 5% at 100k articles).
    if not labelled and not TrainedModel.objects.filter(project=project, is_active=True).exists():
        return
    from annotate.services.training import model_after_submit, predictions_queue

    predictions_queue(project=project, article_ids=article_ids)
    if labelled:
        model_after_submit(project.pk)


def _queue_preannotation(project: Project, article_ids: list[int]) -> None:
    from annotate.services.preannotation import preannotation_queue

    preannotation_queue(project=project, article_ids=article_ids)
