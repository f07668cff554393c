"""Dataset exports: request a job, build its file, detect jobs whose worker died (G1).

Invariants:
* A job is DONE only after its file was written completely to a temporary name, fsynced and
  atomically renamed; sha256 and size describe exactly that file. Until then no file is
  served, and a DONE job's file never changes (a dataset version).
* Each build attempt increments `attempts`; every progress write and the final DONE write are
  conditional on (status=RUNNING, attempts=this attempt), so an attempt that was declared dead
  can never overwrite the job of the attempt that replaced it.
* A RUNNING job whose heartbeat is older than EXPORT_STALE_SECONDS lost its worker: it is
  re-queued while attempts remain (EXPORT_MAX_ATTEMPTS), else FAILED with the reason.
* A QUEUED job is sent to the broker after its row commits (G6). If the broker does not take the
  message (down at request time) or loses it (restart), the job stays QUEUED: once it has waited
  EXPORT_QUEUED_STALE_SECONDS since it was last sent (`heartbeat_at`, else `created_at`), it is
  sent again. Sending twice is harmless: a build claims the job under a row lock first.
* Both checks run in the periodic sweep (`exports_sweep`: beat, or the in-process timer), never
  in a GET: reading a job never writes nor queues anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import hashlib
import io
import logging
import mmap
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from annotate.errors import Conflict, EmptySelection
from annotate.exports import ExportContext, get_writer, parallel, resolve_format
from annotate.exports.base import SPLIT_NAMES, ExportRow
from annotate.exports.options import export_options_validate
from annotate.exports.rows import CHUNK_SIZE, export_articles, iter_rows
from annotate.exports.spacy_docbin import ZIP_DATE
from annotate.models import ExportJob, Project
from annotate.stories.export import default_group_by

logger = logging.getLogger("standpoint.exports")

Status = ExportJob.Status

# Errors worth another try: the database or its connection went away for a moment.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# A running build writes progress + heartbeat at most this often: cheap for the database, and
# far below the stale threshold even when one spaCy batch takes a few seconds.
HEARTBEAT_SECONDS = 2.0
# Row-only formats (JSONL) read 1,000 articles per round trip: half the queries (and the hand-offs
# of the GIL between the prefetch thread and the writer) of the token formats' 500, for ~20 MB
# more peak memory (measured on bench_export: 101 → 121 MB).
ROW_ONLY_CHUNK_SIZE = 2 * CHUNK_SIZE
WRITE_BUFFER = 1 << 20


def stale_seconds() -> int:
    # Two minutes: 60× the heartbeat period, so a slow batch never looks dead, and a killed
    # worker's job is noticed within minutes rather than after the broker's 1-hour redelivery.
    return int(getattr(settings, "EXPORT_STALE_SECONDS", 120))


def max_attempts() -> int:
    return int(getattr(settings, "EXPORT_MAX_ATTEMPTS", 3))


class ExportNotReady(Conflict):
    """The file of an export that is not DONE was asked for (409)."""

    code = "export_not_ready"


class ExportBusy(Exception):
    """Another live attempt is building this job; try again once it could have gone stale."""

    def __init__(self, retry_in: int):
        super().__init__(f"export is being built by a live worker; retry in {retry_in} s")
        self.retry_in = retry_in


class ExportSuperseded(Exception):
    """This attempt was declared dead and replaced (or the job was finished): stop quietly."""


def queued_stale_seconds() -> int:
    return int(getattr(settings, "EXPORT_QUEUED_STALE_SECONDS", 300))


def _enqueue(export_id: int) -> bool:
    """Send the build; False (logged) when the broker is down: the sweep sends it later."""
    from annotate.celery import enqueue
    from annotate.tasks.exports import export_build_task

    return enqueue(export_build_task, export_id)


def export_request(*, project: Project, format: str, options: dict | None = None, by=None,
                   enqueue: bool = True) -> ExportJob:
    """Validate format and options, create a QUEUED job and queue its build after commit (G6).

    Options are stored normalised (every key, defaults filled), so the job alone says how to
    rebuild the same bytes. `enqueue=False` is for callers that build inline (the CLI).
    """
    fmt = resolve_format(format)
    target_keys = list(project.targets.values_list("key", flat=True))
    opts = export_options_validate(options, target_keys=target_keys)
    if opts["split"] is not None and "group_by" not in opts["split"]:
        # Stored resolved, so that a rerun of the job splits the same way.
        opts["split"]["group_by"] = default_group_by(project)
    _refuse_empty_selection(project, opts)
    job = ExportJob.objects.create(
        project=project, format=fmt, options=opts, requested_by=by,
        codebook_version=int(project.label_schema.get("version", 1)),
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _refuse_empty_selection(project: Project, opts: dict) -> None:
    """EmptySelection (400 `empty_selection`) naming the filters when they select no article."""
    if export_articles(project=project, options=opts).exists():
        return
    filters = {"labels": opts["labels"]}
    said = []
    if opts["labels"] == "gold":
        said.append("labels=gold (only articles with gold)")
    elif opts["submitted_only"]:
        filters["submitted_only"] = True
        said.append("submitted_only=true (only articles with a submitted annotation or gold)")
    for key in ("published_from", "published_to"):
        if opts[key]:
            filters[key] = opts[key]
            said.append(f"{key}={opts[key]}")
    total = project.articles.count()
    raise EmptySelection(
        f"This export selects no article: {', '.join(said) or 'the project has no articles'} "
        f"(the project has {total} article{'s' if total != 1 else ''}).",
        details={"filters": filters, "project_articles": total})


def _is_stale(job: ExportJob, now=None) -> bool:
    beat = job.heartbeat_at or job.started_at
    now = now or timezone.now()
    return beat is None or now - beat > timedelta(seconds=stale_seconds())


def _lost_note(job: ExportJob) -> str:
    beat = job.heartbeat_at or job.started_at
    when = beat.isoformat(timespec="seconds") if beat else "never"
    return (f"attempt {job.attempts} lost its worker (no heartbeat since {when}, "
            f"{job.processed} of {job.total} articles written)")


def _export_dir(job: ExportJob) -> Path:
    path = Path(settings.EXPORT_ROOT) / f"project-{job.project_id}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove_temp_files(job: ExportJob) -> None:
    for tmp in _export_dir(job).glob(f"export-{job.pk}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _claim(export_id: int) -> ExportJob | None:
    """Move the job to RUNNING for a new attempt, or say why not (None: nothing to do)."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=export_id).first()
        if job is None or job.status in (Status.DONE, Status.FAILED):
            return None
        now = timezone.now()
        if job.status == Status.RUNNING:
            if not _is_stale(job, now):
                raise ExportBusy(stale_seconds())
            job.error = _lost_note(job)
        if job.attempts >= max_attempts():
            job.status = Status.FAILED
            job.error = f"{job.error or 'gave up'}; no attempts left ({job.attempts} of {max_attempts()})"
            job.finished_at = now
            job.save(update_fields=["status", "error", "finished_at"])
            return None
        job.status = Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.processed, job.progress, job.counts = 0, 0.0, {}
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "processed", "progress",
                                "counts", "error"])
    _remove_temp_files(job)
    return job


def _guarded(job: ExportJob, attempt: int):
    return ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING, attempts=attempt)


def _progress(job: ExportJob, attempt: int, total: int) -> Callable[[int], None]:
    """A callback for `n articles written`: progress + heartbeat at most every HEARTBEAT_SECONDS;
    raises ExportSuperseded once another attempt holds the job."""
    last = time.monotonic()

    def report(n: int) -> None:
        nonlocal last
        if time.monotonic() - last >= HEARTBEAT_SECONDS:
            last = time.monotonic()
            if not _guarded(job, attempt).update(
                    processed=n, progress=round(n / total, 4) if total else 0.0, heartbeat_at=timezone.now()):
                raise ExportSuperseded()
    return report


def _tracked(rows: Iterable[ExportRow], report: Callable[[int], None]) -> Iterator[ExportRow]:
    for n, row in enumerate(rows, start=1):
        yield row
        report(n)


def _feed(rows: Iterable[ExportRow], writer_for, needs_doc: bool, ctx: ExportContext) -> None:
    if not needs_doc:
        for row in rows:
            writer_for(row).write(row)
        return
    from annotate.exports.tokens import token_layers

    for row, layer in token_layers(rows, ctx):
        writer_for(row).write(row, layer)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _HashingFile(io.RawIOBase):
    """The export file, written with direct I/O where the filesystem takes it, and hashed as it
    is written. Only for writers that never seek (`Writer.appends_only`: JSONL and the CoNLL
    formats; the zip-packaging ones seek): the hash is of the bytes in the order written.

    Direct I/O because the page cache's write-back was the export's largest cost after its own
    rendering: on this VM class, a 1.2 GB file (a 50k-article CoNLL-U export) written to the page
    cache and fsynced took 4.35 s, 3.91 s of it kernel CPU, against 0.72 s and 0.25 s written with
    O_DIRECT (`dd bs=1M count=1200`, same disk) — CPU a parallel build's helpers need.

    Writes of any size are gathered in page-aligned blocks of BLOCK bytes (a sequential build
    still puts a 1 MB BufferedWriter on top: fewer Python-level calls per JSONL line); a thread of its own hashes each full block and writes it (both let go
    of the GIL) while the other block fills. `finish()` writes the last, partial block without
    O_DIRECT (direct writes must be whole blocks). Where O_DIRECT is refused (tmpfs, some network
    filesystems) the same blocks go through the page cache, fsynced every SYNC_BYTES on the way
    so that the fsync before the rename has only the tail left to write.
    """

    BLOCK = 4 << 20
    SYNC_BYTES = 32 << 20

    def __init__(self, path: Path):
        super().__init__()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        direct = getattr(os, "O_DIRECT", 0)
        try:
            self._fd = os.open(path, flags | direct, 0o666)
            self.direct = bool(direct)
        except OSError:  # EINVAL: this filesystem does not do direct I/O
            self._fd = os.open(path, flags, 0o666)
            self.direct = False
        self._sha = hashlib.sha256()
        self._blocks = [mmap.mmap(-1, self.BLOCK, flags=mmap.MAP_PRIVATE) for _ in range(2)]  # page-aligned
        self._current = 0
        self._fill = 0
        self._in_flight = None
        self._unsynced = 0
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-write")

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        view = memoryview(b).cast("B")
        n = len(view)
        at = 0
        while at < n:
            block = self._blocks[self._current]
            take = min(n - at, self.BLOCK - self._fill)
            block[self._fill:self._fill + take] = view[at:at + take]
            self._fill += take
            at += take
            if self._fill == self.BLOCK:
                self._hand_over()
        return n

    def _hand_over(self) -> None:
        """The full block to the writing thread; the other block, once written, becomes the current one."""
        block = self._blocks[self._current]
        self._wait()
        self._in_flight = self._io.submit(self._hash_and_write, block, self.BLOCK)
        self._current ^= 1
        self._fill = 0

    def _wait(self) -> None:
        if self._in_flight is not None:
            self._in_flight.result()  # raises the writing thread's error (ENOSPC…) here
            self._in_flight = None

    def _hash_and_write(self, block, size: int) -> None:
        whole = view = memoryview(block)[:size]
        try:
            self._sha.update(whole)
            while view:
                try:
                    view = view[os.write(self._fd, view):]
                except OSError as exc:
                    if not (self.direct and exc.errno == errno.EINVAL):
                        raise
                    self._buffered()  # the open took O_DIRECT, the filesystem's writes do not
        finally:
            # an error's traceback keeps this frame: without the views, the block can still close
            view.release()
            whole.release()
        if not self.direct:
            self._unsynced += size
            if self._unsynced >= self.SYNC_BYTES:
                self._unsynced = 0
                os.fsync(self._fd)

    def _buffered(self) -> None:
        fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~getattr(os, "O_DIRECT", 0))
        self.direct = False

    def finish(self) -> None:
        """Everything written to the file (not yet fsynced): the blocks, then the partial last one."""
        self._wait()
        if self._fill:
            if self.direct:
                self._buffered()
            self._hash_and_write(self._blocks[self._current], self._fill)
            self._fill = 0

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        if self.closed:
            return
        try:
            with contextlib.suppress(Exception):  # an error of the writing thread was raised before
                self._wait()
            self._io.shutdown(wait=True)
            os.close(self._fd)
            for block in self._blocks:
                block.close()
        finally:
            super().close()


def _fsync_close(fh) -> None:
    fh.flush()
    raw = getattr(fh, "raw", fh)
    if isinstance(raw, _HashingFile):
        raw.finish()
    os.fsync(fh.fileno())
    fh.close()


@contextlib.contextmanager
def _fewer_gc_passes():
    """Collect garbage 100× less often while a build runs.

    Row building allocates ~60 small, acyclic objects per article (and a token format a few
    more per article for its layer); CPython's default gen-0 threshold (700 allocations) then
    runs a collection every dozen articles, measured at ~40% of JSONL export time. The one
    place that makes cyclic garbage worth collecting early, spaCy Docs holding their tensors
    (+300 MB of peak memory when collected 100× later), is the analysis of articles without a
    stored token layer, which runs at the default rate (annotate.exports.tokens.analyse_texts).
    """
    previous = gc.get_threshold()
    gc.set_threshold(70_000, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _write_file(job: ExportJob, attempt: int, tmp: Path) -> ExportContext:
    project = job.project
    options = job.options
    writer_cls = get_writer(job.format)
    ctx = ExportContext(options=options, stance_labels=project.stance_labels, frames=project.frames)
    if writer_cls.needs_doc:
        from annotate.exports.tokens import expected_pipeline_key

        # Named before any article is read: the stored layers are checked against it.
        ctx.pipeline_name = expected_pipeline_key()
    total = ctx.total = export_articles(project=project, options=options).count()
    _guarded(job, attempt).update(total=total, nlp_pipeline=ctx.pipeline_name)
    chunk_size = CHUNK_SIZE if writer_cls.needs_doc else ROW_ONLY_CHUNK_SIZE
    report = _progress(job, attempt, total)
    helpers = parallel.helpers_for(writer_cls, ctx, chunk_size)
    # A generator: nothing is read until a sequential build iterates it.
    rows = _tracked(iter_rows(project=project, options=options, ctx=ctx, with_layers=writer_cls.needs_doc,
                              chunk_size=chunk_size), report)

    if writer_cls.handles_split or not options.get("split"):
        # A large buffer: a JSONL line (~7 KB) no longer fills the default 8 KB one, so most
        # writes are copies, not system calls (each of which let the prefetch thread take the GIL).
        raw = _HashingFile(tmp) if writer_cls.appends_only else None
        fh = tmp.open("wb", buffering=WRITE_BUFFER) if raw is None else io.BufferedWriter(raw, WRITE_BUFFER)
        try:
            if helpers > 1:
                # CoNLL: straight to the hashing file, the helpers' bytes come in reads of up to 1 MB.
                parallel.build(raw or fh, writer_cls, ctx, project=project, options=options, chunk_size=chunk_size,
                               helpers=helpers, progress=report)
            else:
                w = writer_cls(fh, ctx)
                _feed(rows, lambda row: w, writer_cls.needs_doc, ctx)
                w.close()
        finally:
            _fsync_close(fh)
        if raw is not None:
            ctx.file_sha256 = raw.hexdigest()
        return ctx

    # One file per split, then a zip of the three (entries with fixed dates: reproducible).
    parts = {name: tmp.with_name(f"{tmp.name}.{name}.tmp") for name in SPLIT_NAMES}
    handles = {name: path.open("wb", buffering=WRITE_BUFFER) for name, path in parts.items()}
    try:
        writers = {name: writer_cls(handles[name], ctx) for name in SPLIT_NAMES}
        _feed(rows, lambda row: writers[row.split], writer_cls.needs_doc, ctx)
        for w in writers.values():
            w.close()
        for fh in handles.values():
            fh.close()
        with tmp.open("wb") as out, zipfile.ZipFile(out, "w") as zf:
            for name in SPLIT_NAMES:
                info = zipfile.ZipInfo(f"{name}.{writer_cls.extension}", date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with parts[name].open("rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    finally:
        for fh in handles.values():
            fh.close()
        for path in parts.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return ctx


def _extension(job: ExportJob, ctx: ExportContext) -> str:
    writer_cls = get_writer(job.format)
    if job.options.get("split") and not writer_cls.handles_split:
        return f"{writer_cls.extension}.zip"
    return writer_cls.extension_for(ctx)


def export_build(*, export_id: int) -> ExportJob | None:
    """Build the job's file (one attempt). Idempotent: a DONE or FAILED job is left alone.

    Raises ExportBusy when a live attempt holds the job, and the TRANSIENT_ERRORS after putting
    the job back to QUEUED (the task retries them); any other error marks the job FAILED with
    the reason. The partial file of a failed attempt is deleted.
    """
    job = _claim(export_id)
    if job is None:
        return ExportJob.objects.filter(pk=export_id).first()
    attempt = job.attempts
    directory = _export_dir(job)
    tmp = directory / f"export-{job.pk}.attempt-{attempt}.tmp"
    try:
        with _fewer_gc_passes():
            ctx = _write_file(job, attempt, tmp)
        ext = _extension(job, ctx)
        final = directory / f"export-{job.pk}.{ext}"
        sha, size = ctx.file_sha256 or _sha256(tmp), tmp.stat().st_size
        os.replace(tmp, final)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        now = timezone.now()
        done = _guarded(job, attempt).update(
            status=Status.DONE, progress=1.0, processed=ctx.counts["articles"],
            counts={k: ctx.counts[k] for k in sorted(ctx.counts)},
            file_path=str(final.relative_to(Path(settings.EXPORT_ROOT))),
            file_name=f"{job.project.slug}-export-{job.pk}.{ext}",
            size_bytes=size, sha256=sha, error="", finished_at=now, heartbeat_at=now,
        )
        if not done:
            raise ExportSuperseded()
    except ExportSuperseded:
        logger.info("export %s attempt %s was superseded; stopping", job.pk, attempt)
    except TRANSIENT_ERRORS as exc:
        with contextlib.suppress(*TRANSIENT_ERRORS):
            last = attempt >= max_attempts()
            _guarded(job, attempt).update(
                status=Status.FAILED if last else Status.QUEUED,
                error=f"attempt {attempt}: transient error: {exc}" + ("; no attempts left" if last else "; retrying"),
                finished_at=timezone.now() if last else None,
            )
            if last:
                return ExportJob.objects.filter(pk=export_id).first()
        raise
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        _guarded(job, attempt).update(
            status=Status.FAILED, error=f"attempt {attempt}: {type(exc).__name__}: {exc}", finished_at=timezone.now())
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return ExportJob.objects.filter(pk=export_id).first()


def export_check_stale(*, job: ExportJob) -> ExportJob:
    """If the job's worker died (stale heartbeat), re-queue it or fail it; return the fresh job."""
    if job.status != Status.RUNNING or not _is_stale(job):
        return job
    requeue = False
    with transaction.atomic():
        locked = ExportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == Status.RUNNING and _is_stale(locked):
            note = _lost_note(locked)
            if locked.attempts < max_attempts():
                locked.status, locked.error, requeue = Status.QUEUED, f"{note}; re-queued", True
                locked.heartbeat_at = timezone.now()  # when it was sent: see exports_sweep_queued
            else:
                locked.status, locked.error = Status.FAILED, f"{note}; no attempts left"
                locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "error", "finished_at", "heartbeat_at"])
            if requeue:
                transaction.on_commit(lambda: _enqueue(locked.pk))
    job.refresh_from_db()
    return job


def export_resend_if_undelivered(*, job: ExportJob) -> bool:
    """Send a QUEUED job's build again if it waited EXPORT_QUEUED_STALE_SECONDS since it was last
    sent (never published, or lost with the broker). True when it was sent again."""
    cutoff = timezone.now() - timedelta(seconds=queued_stale_seconds())
    with transaction.atomic():
        locked = ExportJob.objects.select_for_update().filter(pk=job.pk, status=Status.QUEUED).first()
        if locked is None or (locked.heartbeat_at or locked.created_at) >= cutoff:
            return False
        # Marks when it was last sent, so that the next sweep waits a full threshold again.
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["heartbeat_at"])
        transaction.on_commit(lambda: _enqueue(locked.pk))
    logger.info("export %s: queued since %s and never picked up; sent again", job.pk,
                (job.heartbeat_at or job.created_at).isoformat(timespec="seconds"))
    return True


def exports_sweep_queued(*, project_id: int | None = None) -> int:
    """Send again every QUEUED job that waited too long; returns how many were sent."""
    cutoff = timezone.now() - timedelta(seconds=queued_stale_seconds())
    qs = ExportJob.objects.filter(status=Status.QUEUED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return sum(export_resend_if_undelivered(job=job) for job in qs.order_by("id"))


def exports_sweep() -> int:
    """The periodic sweep: stale RUNNING jobs and undelivered QUEUED ones; how many were acted on."""
    return exports_sweep_stale() + exports_sweep_queued()


def exports_sweep_stale(*, project_id: int | None = None) -> int:
    """Check every RUNNING job (of one project, or all); returns how many were found stale."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    qs = ExportJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    found = 0
    for job in qs.order_by("id"):
        before = job.status
        if export_check_stale(job=job).status != before:
            found += 1
    return found


def export_download_path(*, job: ExportJob) -> Path:
    """The finished file, or Conflict (409) while it is not done: a partial file is never served."""
    from annotate.selectors.exports import export_file_path

    path = export_file_path(job)
    if path is None:
        raise ExportNotReady(f"Export {job.pk} is {job.status}; its file can be downloaded once it is done.",
                       details={"status": job.status})
    return path
