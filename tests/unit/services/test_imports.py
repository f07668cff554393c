"""annotate/services/imports.py: every bad input gets a clear error naming line and field, and
nothing is written; good input in every supported format lands exactly once."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest

from annotate.errors import ImportRejected
from annotate.models import Article, Span
from annotate.services.imports import articles_import
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def write_jsonl(path, records):
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write((record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)) + "\n")
    return path


def rejected(project, path, **kwargs) -> list[str]:
    with pytest.raises(ImportRejected) as info:
        articles_import(project=project, source=path, **kwargs)
    assert Article.objects.filter(project=project).count() == 0, "a rejected file must write nothing"
    return [e["text"] for e in info.value.details["errors"]]


@pytest.fixture
def project():
    return ProjectFactory()


GOOD = {"id": "a1", "text": "Putin spoke in Moscow.", "title": "T", "source": "Reuters"}


def test_invalid_json_line_names_the_line(project, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD, '{"id": "a2", "text": "x"', {"id": "a3", "text": "ok"}])
    errors = rejected(project, path)
    assert len(errors) == 1 and errors[0].startswith("line 2: invalid JSON")
    # One line number, the file's: not the parser's own "line 2 column 1" inside the record.
    assert errors[0].count("line") == 1 and "at character" in errors[0], errors[0]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"id": "x"}, "line 2: text: missing"),
        ({"id": "x", "text": ""}, "line 2: text: is empty"),
        ({"id": "x", "text": "  \n "}, "line 2: text: contains only whitespace"),
        ({"id": "x", "text": 42}, "line 2: text: expected a string, got int"),
        ({"id": "x", "text": "abc", "spans": [{"start": 0, "end": 9, "label": "PERSON"}]},
         "line 2: spans[0].end: 9 is past the end of the text (3)"),
        ({"id": "x", "text": "abc", "spans": [{"start": 2, "end": 1, "label": "PERSON"}]},
         "line 2: spans[0].end: 1 must be greater than start (2)"),
        ({"id": "x", "text": "abc", "spans": [{"start": "0", "end": 1, "label": "PERSON"}]},
         "line 2: spans[0].start: '0' is not a non-negative integer"),
        ({"id": "x", "text": "abc", "spans": [{"start": 0.5, "end": 1, "label": "PERSON"}]},
         "line 2: spans[0].start: 0.5 is not a non-negative integer"),
        ({"id": "x", "text": "abc", "spans": [{"start": 0, "end": 1, "label": "VILLAIN"}]},
         "line 2: spans[0].label: 'VILLAIN' is not a span label of this project"),
        ({"id": "x", "text": "abc", "published": "last tuesday"},
         "line 2: published: 'last tuesday' is not an ISO 8601 date or date-time"),
        ({"id": "x", "text": "abc", "meta": [1, 2]}, "line 2: meta: expected a JSON object, got list"),
    ],
)
def test_bad_record_is_reported_with_line_and_field(project, tmp_path, record, expected):
    errors = rejected(project, write_jsonl(tmp_path / "a.jsonl", [GOOD, record]))
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_ids_inside_one_file(project, tmp_path):
    errors = rejected(project, write_jsonl(tmp_path / "a.jsonl", [GOOD, {"id": "b", "text": "x"}, GOOD]))
    assert errors == ["line 3: id: duplicate id 'a1' (first on line 1)"]


def test_non_utf8_bytes(project, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"id": "b", "text": "caf\xe9"}\n')
    errors = rejected(project, path)
    assert errors == ["line 2: not valid UTF-8 (byte 0xe9 at byte 24 of the line)"]


def test_empty_file(project, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n\n")
    with pytest.raises(ImportRejected, match="holds no articles"):
        articles_import(project=project, source=path)


def test_five_megabyte_article_over_the_limit_is_refused(project, tmp_path, settings):
    settings.IMPORT_MAX_TEXT_CHARS = 2_000_000
    errors = rejected(project, write_jsonl(tmp_path / "a.jsonl", [{"id": "big", "text": "word " * 1_048_576}]))
    assert errors == ["line 1: text: 5,242,880 characters is over the limit of 2,000,000 (IMPORT_MAX_TEXT_CHARS)"]


def test_five_megabyte_article_under_a_raised_limit_is_stored_verbatim(project, tmp_path, settings):
    settings.IMPORT_MAX_TEXT_CHARS = 6_000_000
    text = "word " * 1_048_576
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", [{"id": "big", "text": text}]))
    assert Article.objects.get(external_id="big").text == text


def test_every_error_is_listed_not_just_the_first(project, tmp_path):
    errors = rejected(project, write_jsonl(tmp_path / "a.jsonl", [{"text": ""}, GOOD, {"id": 3}, "[1]"]))
    assert [e.split(":")[0] for e in errors] == ["line 1", "line 3", "line 4"]


def test_skip_invalid_imports_the_good_lines_and_lists_the_rest(project, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD, {"id": "bad", "text": ""}, {"id": "a3", "text": "fine"}])
    report = articles_import(project=project, source=path, skip_invalid=True)
    assert report.created == 2 and report.invalid_count == 1
    assert report.invalid[0]["text"] == "line 2: text: is empty"
    assert set(Article.objects.values_list("external_id", flat=True)) == {"a1", "a3"}


def test_text_is_stored_verbatim_and_spans_keep_code_point_offsets(project, tmp_path):
    text = " 👍🏽 Zoë said “ja”.\r\nThen Владимир left. "
    start = text.index("Владимир")
    record = {"id": "e", "text": text, "published": "2025-09-05",
              "spans": [{"start": start, "end": start + 8, "label": "PERSON"}], "meta": {"k": [1]}}
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", [record]))
    article = Article.objects.get(external_id="e")
    assert article.text == text
    span = Span.objects.get(article=article)
    assert (span.origin, article.text[span.start:span.end]) == ("import", "Владимир")
    assert article.published.isoformat() == "2025-09-05T00:00:00+00:00"
    assert article.meta == {"k": [1]}


def test_reimport_updates_metadata_and_never_duplicates(project, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD, {"id": 7, "text": "Other text."}])
    first = articles_import(project=project, source=path)
    again = articles_import(project=project, source=path)
    assert (first.created, again.created, again.unchanged) == (2, 0, 2)
    write_jsonl(path, [{**GOOD, "title": "New title"}])
    third = articles_import(project=project, source=path)
    assert third.updated == 1
    assert Article.objects.count() == 2
    assert Article.objects.get(external_id="a1").title == "New title"


def test_reimport_with_changed_text_is_skipped_once_annotation_started(project, tmp_path):
    from tests.factories import AssignmentFactory

    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", [GOOD]))
    article = Article.objects.get(external_id="a1")
    AssignmentFactory(article=article)
    report = articles_import(project=project, source=write_jsonl(tmp_path / "b.jsonl", [{**GOOD, "text": "New!"}]))
    assert report.skipped and "immutable once annotated" in report.skipped[0]["reason"]
    article.refresh_from_db()
    assert article.text == GOOD["text"]


def test_records_without_id_are_deduplicated_by_content(project, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "Same text."}])
    articles_import(project=project, source=path)
    report = articles_import(project=project, source=path)
    assert (report.created, report.unchanged, Article.objects.count()) == (0, 1, 1)


def test_csv_with_text_column(project, tmp_path):
    path = tmp_path / "a.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "text", "outlet_bias"])
        writer.writerow(["c1", "One", "First line.\nSecond line, with a comma.", "left"])
        writer.writerow(["c2", "Two", "Short.", "right"])
    report = articles_import(project=project, source=path)
    assert report.created == 2
    first = Article.objects.get(external_id="c1")
    assert first.text == "First line.\nSecond line, with a comma." and first.meta == {"outlet_bias": "left"}


def test_csv_without_text_column_is_refused(project, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,body\n1,hello\n")
    assert rejected(project, path) == ["line 1: text: the CSV header has no 'text' column (columns: ['id', 'body'])"]


def test_folder_and_zip_of_txt_files(project, tmp_path):
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "one.txt").write_text("First article.", encoding="utf-8")
    (folder / "two.txt").write_text("Second article.", encoding="utf-8")
    assert articles_import(project=project, source=folder).created == 2
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("three.txt", "Third article.")
        zf.writestr("__MACOSX/._three.txt", "junk")
    assert articles_import(project=project, source=archive).created == 1
    assert sorted(Article.objects.values_list("external_id", flat=True)) == ["one", "three", "two"]


def test_doccano_jsonl(project, tmp_path):
    records = [{"id": 1, "text": "Macron met Putin.", "label": [[0, 6, "PERSON"], [11, 16, "PERSON"]]},
               {"text": "Zelensky.", "entities": [{"id": 5, "start_offset": 0, "end_offset": 8, "label": "PERSON"}]}]
    articles_import(project=project, source=write_jsonl(tmp_path / "d.jsonl", records))
    assert sorted((s.article.text[s.start:s.end]) for s in Span.objects.all()) == ["Macron", "Putin", "Zelensky"]


def test_label_studio_json_with_utf16_offsets(project, tmp_path):
    text = "👍 Putin spoke."
    # Label Studio counted the emoji as two UTF-16 units: Putin is at 3..8 there, 2..7 in code points.
    task = {"id": 9, "data": {"text": text}, "annotations": [{"result": [
        {"value": {"start": 3, "end": 8, "text": "Putin", "labels": ["PERSON"]}}]}]}
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    articles_import(project=project, source=path)
    span = Span.objects.get()
    assert (span.start, span.end, text[span.start:span.end]) == (2, 7, "Putin")


def test_uploaded_file_object(project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("up.jsonl", (json.dumps(GOOD) + "\n").encode())
    assert articles_import(project=project, source=upload, filename="up.jsonl").created == 1


def test_import_queues_preannotation_after_commit(project, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr("annotate.services.preannotation.preannotation_queue",
                        lambda **kw: queued.append(sorted(kw["article_ids"])))
    with django_capture_on_commit_callbacks(execute=True):
        articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", [GOOD]))
    assert queued == [[Article.objects.get().pk]]


def test_large_import_under_debug_does_not_keep_every_statement(project, tmp_path, settings):
    """Regression: with DEBUG on, Django logged every bulk INSERT (full texts), so a 100k import grew
    to ~470 MB; the import now clears that log after each batch."""
    from django.db import connection

    settings.DEBUG = True
    records = [{"id": f"r{i}", "text": f"Article number {i}."} for i in range(3000)]
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", records))
    assert Article.objects.count() == 3000
    assert len(connection.queries) < 5  # 6 batches of 2+ statements each without the fix


def test_unknown_format_is_a_clear_rejection(project, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [GOOD])
    with pytest.raises(ImportRejected, match="unknown import format 'xml'"):
        articles_import(project=project, source=path, fmt="xml")


def test_reimport_of_changed_texts_drops_stale_suggestions_in_a_fixed_number_of_queries(
        project, tmp_path, django_assert_max_num_queries):
    records = [{"id": f"r{i}", "text": f"Old text {i}."} for i in range(40)]
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", records))
    for article in Article.objects.all():
        Span.objects.create(article=article, start=0, end=3, label="ORG", origin=Span.Origin.MODEL)
    changed = [{"id": f"r{i}", "text": f"New text {i}."} for i in range(40)]
    # was 2 queries per changed article; + the near-duplicate index (settings, lock, exact-copy
    # lookup, forget the old fingerprints, write back); + the model's predictions (drop them,
    # clear the queue margin): a fixed number, whatever the size
    with django_assert_max_num_queries(12 + 6 + 2):
        report = articles_import(project=project, source=write_jsonl(tmp_path / "b.jsonl", changed))
    assert report.updated == 40
    assert not Span.objects.filter(origin=Span.Origin.MODEL).exists()
    assert Article.objects.get(external_id="r7").text == "New text 7."


def _estimated_articles() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'annotate_article'::regclass")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_an_import_that_grows_the_table_refreshes_the_planners_statistics(project, tmp_path):
    """The queue's statements are planned from them (annotate.services.queue.queue_statistics_refresh):
    stale after a bulk load, `next` sorted every open article instead of reading the first."""
    from django.db import connection

    from annotate.services.queue import queue_statistics_refresh

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    n = max(30, int(max(_estimated_articles(), 0) * 0.1) + 1)
    articles_import(project=project, queue_preannotation=False, source=write_jsonl(
        tmp_path / "a.jsonl", [{"id": f"a{i}", "text": f"Article number {i}."} for i in range(n)]))
    assert _estimated_articles() == Article.objects.count()  # ANALYZE ran (exact on a small table)
    assert not queue_statistics_refresh(new_articles=1)  # a trickle leaves it to autovacuum
    assert not queue_statistics_refresh(new_articles=0)
