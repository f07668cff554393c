"""Token-level exports built by helper processes (annotate.exports.parallel), on PostgreSQL
outside a transaction as a worker builds them: the same file as one process builds, the same
counts, and a failure in a helper fails the job (or retries it) without leaving a process behind."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from django.db import OperationalError, connection, transaction

from annotate.exports import ExportContext, conllu, get_writer, parallel, spacy_docbin
from annotate.models import ExportJob
from annotate.services import exports
from annotate.services.exports import export_build, export_request
from tests.factories import ArticleFactory

from .data import build_demo, run_export

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Flags, a family, combining marks, CRLF and a tab: what the token layer must keep whole.
EXTRA = [
    "🇺🇦 President Volodymyr Zelensky said on Tuesday that “the front will hold,” Kyiv reported.",
    "Angela Merkel\u0301 met 👨‍👩‍👧 families in Berlin.\r\nThe talks ended without a deal.",
    "Officials\tin Warsaw said: “We are ready.” NATO did not comment.",
    "The Kremlin denied the report. “This is false,” Dmitry Peskov told reporters in Moscow.",
]
CHUNK = 3  # rows per chunk here: 22 articles make 8 chunks, shared unevenly between the helpers


@pytest.fixture
def project(settings, monkeypatch):
    demo = build_demo()
    for i in range(18):
        ArticleFactory(project=demo.project, external_id=f"extra-{i:02d}", text=f"{i}. {EXTRA[i % len(EXTRA)]}")
    monkeypatch.setattr(exports, "CHUNK_SIZE", CHUNK)
    # DocBin: a zip of shards of one chunk each
    monkeypatch.setattr(spacy_docbin, "SINGLE_FILE_DOCS", 2)
    monkeypatch.setattr(spacy_docbin, "SHARD_DOCS", CHUNK)
    monkeypatch.setattr(spacy_docbin.DocBinWriter, "part_rows", CHUNK)
    settings.EXPORT_PARALLEL_MIN_ARTICLES = 1
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # helpers are capped at one per core: allow 3
    return demo.project


def _children() -> set[int]:
    """This process's children (the browser tests' Playwright driver may be one of them)."""
    return {child.pid for child in psutil.Process().children()}


def _build(project, fmt: str, settings, processes: int, **options):
    settings.EXPORT_PROCESSES = processes
    job, path = run_export(project, fmt, **options)
    return job, path.read_bytes()


@pytest.mark.parametrize("fmt, options", [
    ("conllu", {"submitted_only": False, "include_suggestions": True}),
    ("conll2003", {"submitted_only": False}),
    ("conll2003", {"submitted_only": False, "span_layer": "quotes"}),
    ("spacy", {"submitted_only": False, "include_suggestions": True}),
])
def test_helpers_build_the_file_one_process_builds(project, settings, fmt, options):
    before = _children()
    alone, alone_bytes = _build(project, fmt, settings, 1, **options)
    for processes in (2, 3):
        job, data = _build(project, fmt, settings, processes, **options)
        assert data == alone_bytes and job.sha256 == alone.sha256 and job.size_bytes == alone.size_bytes
        counts = dict(job.counts)
        assert counts.pop("export_processes") == processes
        assert counts == alone.counts
    assert "export_processes" not in alone.counts
    assert alone.counts["articles"] == 22
    if fmt == "conllu":
        assert data.startswith(b"# pipeline = ") and data.count(b"# pipeline = ") == 1
    assert _children() <= before  # every helper reaped


@pytest.mark.parametrize("deleted", [2 * CHUNK, 22])
def test_articles_deleted_before_their_chunk_is_read_are_left_out(project, settings, monkeypatch, deleted):
    """A helper reads its chunks after the parent listed them: a chunk whose articles are gone
    by then is empty, the file holds the others, in order (here the first two chunks, or all)."""
    ids = list(project.articles.order_by("id").values_list("id", flat=True))
    real_ranges = parallel.chunk_ranges

    def listed_then_deleted(articles, chunk_size):
        ranges = real_ranges(articles, chunk_size)
        project.articles.filter(id__in=ids[:deleted]).delete()
        return ranges

    monkeypatch.setattr(parallel, "chunk_ranges", listed_then_deleted)
    job, data = _build(project, "conllu", settings, 2, submitted_only=False)
    assert job.counts["export_processes"] == 2 and job.counts.get("articles", 0) == 22 - deleted
    if deleted < 22:
        monkeypatch.setattr(parallel, "chunk_ranges", real_ranges)
        alone, alone_bytes = _build(project, "conllu", settings, 1, submitted_only=False)
        assert data == alone_bytes and alone.counts["articles"] == 22 - deleted
    else:
        assert data == b""


def _fail_in_helper(monkeypatch, how):
    """Make the helper that renders a batch holding article `extra-07` fail as `how` says (the
    parent never renders, so only a helper ever gets there)."""
    real = conllu.ConlluWriter._flush
    parent = os.getpid()

    def flush(self):
        if os.getpid() != parent and any(row.id == "extra-07" for row, _ in self.pending):
            how()
        real(self)

    monkeypatch.setattr(conllu.ConlluWriter, "_flush", flush)


def _raise_value_error():
    raise ValueError("no room left for this sentence")


def test_an_error_in_a_helper_fails_the_job_with_it(project, settings, monkeypatch):
    before = _children()
    settings.EXPORT_PROCESSES = 2
    _fail_in_helper(monkeypatch, _raise_value_error)
    job = export_build(export_id=export_request(project=project, format="conllu", options={"submitted_only": False}, enqueue=False).pk)
    assert job.status == ExportJob.Status.FAILED
    assert "no room left for this sentence" in job.error and job.sha256 == ""
    assert _children() <= before  # every helper reaped
    assert not any(settings.EXPORT_ROOT.rglob("*.tmp"))


def test_a_helper_that_dies_fails_the_job_and_names_how(project, settings, monkeypatch):
    before = _children()
    settings.EXPORT_PROCESSES = 2
    _fail_in_helper(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGKILL))
    job = export_build(export_id=export_request(project=project, format="conllu", options={"submitted_only": False}, enqueue=False).pk)
    assert job.status == ExportJob.Status.FAILED
    assert "was killed by signal 9" in job.error
    assert _children() <= before  # every helper reaped


def test_a_database_error_in_a_helper_is_retried_like_one_in_the_worker(project, settings, monkeypatch):
    before = _children()
    settings.EXPORT_PROCESSES = 2

    def lost_connection():
        raise OperationalError("server closed the connection unexpectedly")

    _fail_in_helper(monkeypatch, lost_connection)
    job = export_request(project=project, format="conllu", options={"submitted_only": False}, enqueue=False)
    with pytest.raises(OperationalError, match="server closed the connection"):
        export_build(export_id=job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.QUEUED and "transient error" in job.error
    assert _children() <= before  # every helper reaped


def _ctx(total: int, **options) -> ExportContext:
    return ExportContext(options=options, total=total)


def test_when_a_build_stays_in_one_process(project, settings, monkeypatch):
    conllu_writer, jsonl, docbin = get_writer("conllu.v1"), get_writer("jsonl.v1"), get_writer("spacy.v1")
    settings.EXPORT_PROCESSES = 2
    assert parallel.helpers_for(conllu_writer, _ctx(22), CHUNK) == 2
    assert parallel.helpers_for(conllu_writer, _ctx(CHUNK), CHUNK) == 1  # one chunk
    assert parallel.helpers_for(jsonl, _ctx(22), CHUNK) == 1  # JSONL is not built in parts
    assert parallel.helpers_for(conllu_writer, _ctx(22, split={"train": 80, "dev": 10, "test": 10}), CHUNK) == 1
    # DocBin in parts only when it is a zip of shards: one .spacy file has no parts to join
    assert parallel.helpers_for(docbin, _ctx(22), CHUNK) == 2
    monkeypatch.setattr(spacy_docbin, "SINGLE_FILE_DOCS", 100)
    assert parallel.helpers_for(docbin, _ctx(22), CHUNK) == 1
    settings.EXPORT_PARALLEL_MIN_ARTICLES = 100
    assert parallel.helpers_for(conllu_writer, _ctx(22), CHUNK) == 1
    settings.EXPORT_PARALLEL_MIN_ARTICLES = 1
    with transaction.atomic():  # helpers could not see this transaction's rows
        assert parallel.helpers_for(conllu_writer, _ctx(22), CHUNK) == 1
    settings.EXPORT_PROCESSES = 1
    assert parallel.helpers_for(conllu_writer, _ctx(22), CHUNK) == 1
    settings.EXPORT_PROCESSES = 64  # at most one per core
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert parallel.helpers_for(conllu_writer, _ctx(22), CHUNK) == 2
    assert connection.vendor == "postgresql"


def test_a_docbin_that_fits_one_file_stays_one_file_with_helpers_allowed(project, settings, monkeypatch):
    """22 articles under SINGLE_FILE_DOCS: one `.spacy` DocBin, built in one process (its parent
    writer has no zip to add shards to)."""
    monkeypatch.setattr(spacy_docbin, "SINGLE_FILE_DOCS", 100)
    job, data = _build(project, "spacy", settings, 2, submitted_only=False)
    assert job.file_name.endswith(".spacy") and "export_processes" not in job.counts
    assert job.counts["articles"] == 22 and not data.startswith(b"PK")
