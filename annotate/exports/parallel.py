"""A token-level export built by helper processes, their bytes joined in row order into one file.

Why: a CoNLL-U export writes ~25 KB per article, seven times its text, and laying out those
bytes is Python and numpy that hold the GIL: one process reached ~2,000 articles/s at 50k
articles, a quarter of JSONL's rate (issue 18), while the machine's second core waited. A run
of rows renders the same bytes whoever renders it (`Writer.builds_in_parts`), so P forked helpers each
build every P-th chunk of `chunk_ranges` (reading its rows with their own connections, as a
sequential build reads them: two connections per helper) and send the chunk's bytes down a
pipe; the parent takes the chunks in order and writes them to the file (`Writer.add_part`:
CoNLL bytes as they come, through the same hashing, fsynced file as a sequential build; a
DocBin shard per chunk, added to the zip). The file is byte for byte the one a single writer
makes (the tests compare both), and the job's counts are the helpers' summed. JSONL is not
built so: one process already streams it at ~80% of a bare database cursor.

When (`helpers_for`): PostgreSQL outside a transaction (a helper's connections could not see a
transaction's rows), a writer that builds in parts, no train/dev/test split (a stratified
split is drawn in row order), at least EXPORT_PARALLEL_MIN_ARTICLES articles and more than one
chunk; EXPORT_PROCESSES helpers (default 2; 1 turns it off), at most one per core.

os.fork, not multiprocessing: a Celery prefork pool process is daemonic, and multiprocessing
refuses children to daemonic processes; a fork also shares the imported modules (spaCy
included, see annotate.celery) copy-on-write. The parent closes its database connections
before forking, so that no helper ever speaks on the parent's socket; a helper ends with
os._exit, never running the parent's cleanup. A helper that fails sends its error, which the
parent raises (so a transient database error is retried like any other); one that dies is an
error too; on any error, or when the attempt is superseded, the parent kills the helpers.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import pickle
import queue
import signal
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection, connections

from .base import ExportContext, Writer
from .rows import RowSource, chunk_ranges, iter_rows, row_source

logger = logging.getLogger("standpoint.exports")

_FRAME = struct.Struct("<cQ")  # kind, payload length
_CHUNK, _COUNTS, _ERROR = b"C", b"N", b"E"
# A larger pipe than Linux's 64 KB: fewer wake-ups per chunk (one CoNLL-U chunk is ~12 MB).
_PIPE_BYTES = 1 << 20
# Chunks a helper keeps rendered ahead of the parent (each ~12 MB for CoNLL-U).
_AHEAD = 1


def helpers_for(writer_cls: type[Writer], ctx: ExportContext, chunk_size: int) -> int:
    """How many helper processes build this export; 1 means the build stays in this process.

    At most one per core: more only add processes (and two database connections each) that
    wait for a core, and a mistyped EXPORT_PROCESSES=64 would exhaust PostgreSQL's connections."""
    wanted = min(int(getattr(settings, "EXPORT_PROCESSES", 2)), os.cpu_count() or 1)
    total = ctx.total
    if (wanted < 2 or not writer_cls.builds_in_parts(ctx) or ctx.options.get("split")
            or total < int(getattr(settings, "EXPORT_PARALLEL_MIN_ARTICLES", 4000))
            or total <= (writer_cls.part_rows or chunk_size)
            or connection.vendor != "postgresql" or connection.in_atomic_block or not hasattr(os, "fork")):
        return 1
    return wanted


class HelperFailed(RuntimeError):
    """A helper process died or sent something that is not a frame."""


def build(out: io.BufferedIOBase, writer_cls: type[Writer], ctx: ExportContext, *, project, options: dict,
          chunk_size: int, helpers: int, progress: Callable[[int], None]) -> None:
    """Write the export's bytes to `out` with `helpers` processes and add their counts to ctx's.

    `progress(n)` is called with the articles written so far after each chunk (it may raise to
    stop the build: the helpers are then killed)."""
    chunk_size = writer_cls.part_rows or chunk_size
    source = row_source(project, options)
    ranges = chunk_ranges(source.articles, chunk_size)
    helpers = min(helpers, len(ranges))  # none when every article was deleted since the count
    connections.close_all()  # before forking: each helper opens its own
    started: list[_Helper] = []
    try:
        for k in range(helpers):
            started.append(_Helper.fork(k, helpers, ranges, writer_cls, ctx, project, options, source,
                                        chunk_size, [h.fd for h in started]))
        joined = writer_cls(out, ctx)
        # A writer that takes a chunk's bytes as they are has them copied from the pipe as they
        # come (a CoNLL-U chunk is ~12 MB); the others get each chunk's bytes whole.
        streamed = writer_cls.add_part is Writer.add_part
        for n, _ in enumerate(ranges):
            helper = started[n % helpers]
            if not streamed:
                joined.add_part(helper.receive(_CHUNK))
            elif helper.copy_chunk(out, b"" if joined.opened else joined.opening()):
                joined.opened = True  # the opening went before the first article, as a single writer puts it
            progress(min(ctx.total, (n + 1) * chunk_size))  # ranges are full chunks but the last
        for helper in started:
            ctx.counts.update(pickle.loads(helper.receive(_COUNTS)))
        for helper in started:
            helper.wait()
        joined.close()
        ctx.counts["export_processes"] = helpers
    finally:
        for helper in started:
            helper.stop()


class _Helper:
    def __init__(self, k: int, pid: int, fd: int):
        self.k, self.pid, self.fd = k, pid, fd
        self.ended = False

    @classmethod
    def fork(cls, k: int, helpers: int, ranges, writer_cls, ctx, project, options, source, chunk_size,
             inherited: list[int]) -> _Helper:
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # a smaller pipe only means more wake-ups
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        pid = os.fork()
        if pid == 0:  # the helper: never returns
            status = 1
            try:
                os.close(read_fd)
                # The earlier helpers' pipes: were their read ends kept open here, the parent's
                # death would not reach those helpers as a broken pipe.
                for fd in inherited:
                    os.close(fd)
                _run(write_fd, ranges[k::helpers], writer_cls, ctx, project, options, source, chunk_size)
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        return cls(k, pid, read_fd)

    def _pieces(self, size: int) -> Iterator[bytes]:
        """The next `size` bytes from the pipe, as the reads return them."""
        while size:
            piece = os.read(self.fd, min(size, _PIPE_BYTES))
            if not piece:
                self._died()
            yield piece
            size -= len(piece)

    def _read(self, size: int) -> bytes:
        return b"".join(self._pieces(size))

    def _frame(self, kind: bytes) -> int:
        """The next frame's payload size, once it is known to be of this kind (an error frame raises
        the helper's error)."""
        got, size = _FRAME.unpack(self._read(_FRAME.size))
        if got == _ERROR:
            raise pickle.loads(self._read(size))
        if got != kind:
            raise HelperFailed(f"export helper {self.k} sent {got!r} where {kind!r} was due")
        return size

    def receive(self, kind: bytes) -> bytes:
        return self._read(self._frame(kind))

    def copy_chunk(self, out, before: bytes = b"") -> int:
        """The next chunk's bytes written to `out` as they arrive, `before` first if the chunk has
        any; its size. Each read is its own bytes object, written as it is: a file that hashes
        what it is given keeps it without a copy (annotate.services.exports._HashingFile)."""
        size = self._frame(_CHUNK)
        if size and before:
            out.write(before)
        for piece in self._pieces(size):
            out.write(piece)
        return size

    def _died(self):
        _, status = os.waitpid(self.pid, 0)
        self.ended = True
        how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exited with status {os.WEXITSTATUS(status)}")
        raise HelperFailed(f"export helper process {self.k} {how} before it had sent all its chunks")

    def wait(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        self.ended = True
        if status != 0:
            raise HelperFailed(f"export helper process {self.k} ended with wait status {status}")

    def stop(self) -> None:
        if not self.ended:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.ended = True
        os.close(self.fd)


def _run(fd: int, mine: list[tuple[int, int]], writer_cls, ctx: ExportContext, project, options: dict,
         source: RowSource, chunk_size: int) -> None:
    """A helper's build: its chunks' bytes, one frame each (an empty one for a chunk whose
    articles are gone), then its counts; or the error that stopped it."""
    sender = _Sender(fd)
    try:
        ctx.counts = Counter()
        writer = writer_cls.part_writer(io.BytesIO(), ctx)
        rows = iter_rows(project=project, options=options, ctx=ctx, with_layers=writer_cls.needs_doc,
                         chunk_size=chunk_size, source=source, ranges=mine)
        if writer_cls.needs_doc:
            from .tokens import token_layers

            items = token_layers(rows, ctx)
        else:
            items = ((row, None) for row in rows)
        def end_chunk() -> None:
            writer.end_part()
            sender.send(_CHUNK, writer.out.getbuffer())
            writer.out = io.BytesIO()

        # One frame per range of `mine`, in order, whether its articles are still there or not.
        bounds = iter(mine)
        upto = None
        for row, layer in items:
            while upto is None or row.article_id > upto:
                if upto is not None:
                    end_chunk()
                upto = next(bounds)[1]
            writer.write(row, layer)
        if upto is not None:
            end_chunk()
        for _ in bounds:
            end_chunk()
        sender.send(_COUNTS, pickle.dumps(dict(ctx.counts)))
    except BaseException as exc:
        logger.info("export helper failed: %s", exc)
        try:
            payload = pickle.dumps(exc)
            pickle.loads(payload)
        except Exception:
            payload = pickle.dumps(HelperFailed(f"export helper: {type(exc).__name__}: {exc}"))
        sender.send(_ERROR, payload)
        sender.close()
        raise
    sender.close()


class _Sender:
    """Frames written to the parent's pipe by a thread of its own: the helper renders its next
    chunk while the parent drains the other helpers' (os.write lets go of the GIL)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.queue: queue.Queue = queue.Queue(maxsize=_AHEAD)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="export-helper-send", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                for part in item:
                    view = memoryview(part)
                    while view:
                        view = view[os.write(self.fd, view):]
                    view.release()
        except BaseException as exc:
            self.error = exc
            while self.queue.get() is not None:  # let the sending side finish without blocking
                pass

    def send(self, kind: bytes, payload) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((_FRAME.pack(kind, len(payload)), payload))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
