"""Issue 13 point 4 (and 7's zip bomb and meta re-import): every import format refuses at
validation what used to pass "validated first" and then fail at the write (500, CLI traceback) or
poison the article for every later read. Each case: the upload answers 400 naming line and field,
and no article or span is written."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotate.errors import ImportRejected
from annotate.models import Article, Span
from annotate.services.imports import articles_import
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def jsonl(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


OK = {"id": "ok-1", "text": "Macron met Putin."}

CASES = [
    # name, file name, content, what the first error must say
    ("jsonl meta nested 300 deep", "a.jsonl", jsonl(OK, {"id": "b", "text": "t", "meta": deep(300)}),
     "line 2: meta.x.x.x"),
    ("jsonl meta integer 2^64", "a.jsonl", jsonl({"id": "b", "text": "t", "meta": {"n": 2**64}}),
     "line 1: meta.n: integer 18446744073709551616 is outside the signed 64-bit range"),
    ("jsonl meta integer 2^63", "a.jsonl", jsonl({"id": "b", "text": "t", "meta": {"n": 2**63}}),
     "line 1: meta.n: integer 9223372036854775808 is outside"),
    ("jsonl published year 1", "a.jsonl", jsonl({"id": "b", "text": "t", "published": "0001-01-01T00:00:00+01:00"}),
     "line 1: published: '0001-01-01T00:00:00+01:00': year 1 is outside 1800–2200"),
    ("jsonl published year 9999", "a.jsonl", jsonl({"id": "b", "text": "t", "published": "9999-12-31"}),
     "line 1: published: '9999-12-31': year 9999 is outside"),
    ("jsonl offset past 15:59", "a.jsonl", jsonl({"id": "b", "text": "t", "published": "2024-05-01T10:00:00+16:00"}),
     "line 1: published: '2024-05-01T10:00:00+16:00': UTC offset is past ±15:59"),
    ("jsonl NUL in text", "a.jsonl", jsonl(b'{"id": "b", "text": "Hello \\u0000 world"}'),
     "line 1: text: contains a NUL character"),
    ("jsonl NUL in title", "a.jsonl", jsonl(OK, b'{"id": "b", "text": "t", "title": "T\\u0000"}'),
     "line 2: title: contains a NUL character"),
    ("jsonl NUL in id", "a.jsonl", jsonl(b'{"id": "b\\u0000", "text": "t"}'), "line 1: id: contains a NUL character"),
    ("jsonl NUL in meta value", "a.jsonl", jsonl(b'{"id": "b", "text": "t", "meta": {"k": ["\\u0000"]}}'),
     "line 1: meta.k[0]: contains a NUL character"),
    ("jsonl NUL in meta key", "a.jsonl", jsonl(b'{"id": "b", "text": "t", "meta": {"k\\u0000": 1}}'),
     'line 1: meta."k\\u0000": key contains a NUL character'),
    ("jsonl lone surrogate in title", "a.jsonl", jsonl(b'{"id": "b", "text": "t", "title": "\\udc00"}'),
     "line 1: title: contains a lone UTF-16 surrogate (\\udc00)"),
    ("jsonl NUL in span attrs", "a.jsonl",
     jsonl(b'{"id": "b", "text": "Putin", "spans": [{"start": 0, "end": 5, "label": "PERSON", "attrs": {"a": "\\u0000"}}]}'),
     "line 1: spans[0].attrs.a: contains a NUL character"),
    ("jsonl span attrs nested 300 deep", "a.jsonl",
     jsonl({"id": "b", "text": "Putin", "spans": [{"start": 0, "end": 5, "label": "PERSON", "attrs": deep(300)}]}),
     "line 1: spans[0].attrs.x.x"),
    ("jsonl javascript url", "a.jsonl", jsonl({"id": "b", "text": "t", "url": "javascript:alert(document.cookie)"}),
     "line 1: url: scheme 'javascript' is not allowed: only http and https URLs"),
    ("jsonl data url", "a.jsonl", jsonl({"id": "b", "text": "t", "url": " data:text/html,<script>x</script>"}),
     "line 1: url: scheme 'data' is not allowed"),
    ("doccano NUL in an extra field", "d.jsonl",
     jsonl(b'{"id": 1, "text": "Macron met Putin.", "label": [[0, 6, "PERSON"]], "comment": "\\u0000"}'),
     "line 1: comment: contains a NUL character"),
    ("doccano meta integer 2^64", "d.jsonl",
     jsonl({"id": 1, "text": "Macron met Putin.", "label": [[0, 6, "PERSON"]], "meta": {"n": 2**64}}),
     "line 1: meta.n: integer 18446744073709551616"),
    ("csv NUL in text", "a.csv", b"id,title,text\nc1,T,Hello \x00 world\n", "line 2: text: contains a NUL character"),
    ("csv NUL in a meta column", "a.csv", b"id,text,desk\nc1,Hello,po\x00litics\n", "line 2: meta.desk: contains a NUL"),
    ("csv published year 1", "a.csv", b"id,text,published\nc1,Hello,0001-01-01\n", "line 2: published: '0001-01-01'"),
    ("csv javascript url", "a.csv", b"id,text,url\nc1,Hello,javascript:alert(1)\n", "line 2: url: scheme 'javascript'"),
    ("zip NUL in a text", "a.zip", zipped({"one.txt": b"Fine.", "two.txt": b"Bad \x00 text."}),
     "line 2: text: contains a NUL character"),
    ("label studio meta nested 300 deep", "ls.json",
     json.dumps([{"data": {"text": "ok"}}, {"data": {"text": "Hello", "meta": deep(300)}}]).encode(),
     "line 2: data.meta.x.x"),
    ("label studio NUL in text", "ls.json", b'[{"id": 1, "data": {"text": "He\\u0000llo"}}]',
     "line 1: data.text: contains a NUL character"),
    ("label studio meta integer 2^64", "ls.json", b'[{"id": 1, "data": {"text": "Hi", "meta": {"n": 18446744073709551616}}}]',
     "line 1: data.meta.n: integer 18446744073709551616"),
    ("label studio published year 1", "ls.json", b'[{"id": 1, "data": {"text": "Hi", "published": "0001-01-01"}}]',
     "line 1: published: '0001-01-01': year 1"),
    ("label studio javascript url", "ls.json", b'[{"id": 1, "data": {"text": "Hi", "url": "javascript:x"}}]',
     "line 1: url: scheme 'javascript'"),
]


def counts():
    return Article.objects.count(), Span.objects.count()


@pytest.mark.parametrize(("name", "filename", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_format_refuses_poison_at_validation_naming_line_and_field(name, filename, content, expected):
    w = make_world(articles=1)
    before = counts()
    response = w.client("admin").post(f"/api/v1/projects/{w.project.pk}/articles/import/",
                                      {"file": SimpleUploadedFile(filename, content)}, format="multipart")
    assert response.status_code == 400, (name, response.content[:400])
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    texts = [e["text"] for e in error["details"]["errors"]]
    assert any(t.startswith(expected) for t in texts), texts
    assert counts() == before


def test_a_folder_of_txt_files_refuses_a_nul(tmp_path):
    w = make_world(articles=0)
    (tmp_path / "a.txt").write_bytes(b"Fine text.")
    (tmp_path / "b.txt").write_bytes(b"Bad\x00text.")
    with pytest.raises(ImportRejected) as caught:
        articles_import(project=w.project, source=tmp_path)
    assert [e["text"] for e in caught.value.details["errors"]] == [
        "line 2: text: contains a NUL character (\\u0000), which cannot be stored"]
    assert not Article.objects.exists()


def test_the_command_reports_poison_as_line_errors_not_a_traceback(tmp_path, capsys):
    w = make_world(articles=0)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl({"id": "b", "text": "t", "published": "0001-01-01"}, b'{"id": "c", "text": "x\\u0000"}'))
    with pytest.raises(CommandError):
        call_command("import_articles", str(path), project=w.project.slug)
    err = capsys.readouterr().err
    assert "line 1: published: '0001-01-01': year 1 is outside 1800–2200" in err
    assert "line 2: text: contains a NUL character" in err
    assert not Article.objects.exists()


def test_skip_invalid_stores_the_good_lines_only(tmp_path):
    w = make_world(articles=0)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(OK, {"id": "b", "text": "t", "meta": {"n": 2**64}}))
    report = articles_import(project=w.project, source=path, skip_invalid=True)
    assert report.created == 1 and report.invalid_count == 1
    assert list(Article.objects.values_list("external_id", flat=True)) == ["ok-1"]


def test_reimporting_a_meta_integer_past_64_bits_is_refused_every_time_not_updated(tmp_path):
    """Before: orjson read 2^64 as a float, which never equalled what was stored: "updated" on
    every re-import."""
    w = make_world(articles=0)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl({"id": "m", "text": "t", "meta": {"n": 2**64}}))
    for _ in range(2):
        with pytest.raises(ImportRejected, match="meta.n: integer 18446744073709551616"):
            articles_import(project=w.project, source=path)
    assert not Article.objects.exists()
    path.write_bytes(jsonl({"id": "m", "text": "t", "meta": {"n": 2**63 - 1}}))
    assert articles_import(project=w.project, source=path).created == 1
    again = articles_import(project=w.project, source=path)
    assert (again.updated, again.unchanged) == (0, 1)
    assert Article.objects.get().meta == {"n": 2**63 - 1}


def test_dates_inside_the_range_and_a_configured_range(tmp_path, settings):
    w = make_world(articles=0)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl({"id": "a", "text": "t", "published": "1850-03-01T12:00:00-15:59"}))
    assert articles_import(project=w.project, source=path).created == 1
    settings.INPUT_MIN_YEAR = 1900
    path.write_bytes(jsonl({"id": "b", "text": "t", "published": "1850-03-01"}))
    with pytest.raises(ImportRejected, match="year 1850 is outside 1900–2200"):
        articles_import(project=w.project, source=path)


def test_a_small_zip_that_inflates_past_the_limit_is_refused_without_inflating_it(tmp_path, settings):
    """Before: a 0.4 MB zip holding a 400 MB text was read whole (733 MB RSS) and then refused.
    Here: 50 MB of text in a ~50 kB zip, limit 10,000 characters; the refusal must not allocate
    anything like the inflated size."""
    settings.IMPORT_MAX_TEXT_CHARS = 10_000
    w = make_world(articles=0)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fine.txt", b"A fine article.")
        with zf.open("bomb.txt", "w") as member:
            for _ in range(50):
                member.write(b"a" * (1 << 20))
    assert archive.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ImportRejected) as caught:
            articles_import(project=w.project, source=archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * (1 << 20), f"{peak:,} bytes allocated"
    texts = [e["text"] for e in caught.value.details["errors"]]
    assert texts == ["line 1: text: bomb.txt: 52,428,800 bytes is over the limit of 40,003 bytes (IMPORT_MAX_TEXT_CHARS)"]
    assert not Article.objects.exists()


def test_a_zip_whose_members_add_up_past_the_archive_limit_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_ARCHIVE_BYTES = 100_000
    w = make_world(articles=0)
    archive = tmp_path / "many.zip"
    archive.write_bytes(zipped({f"{i:03}.txt": b"b" * 30_000 for i in range(5)}))
    with pytest.raises(ImportRejected, match="inflates to 150,000 bytes, over the limit of 100,000"):
        articles_import(project=w.project, source=archive)
    assert not Article.objects.exists()


def test_a_jsonl_line_over_the_record_limit_is_refused_and_the_next_lines_keep_their_numbers(tmp_path, settings):
    settings.IMPORT_MAX_TEXT_CHARS = 1000
    w = make_world(articles=0)
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl(OK, {"id": "big", "text": "x" * 2_000_000}, {"id": "c", "text": ""}))
    with pytest.raises(ImportRejected) as caught:
        articles_import(project=w.project, source=path)
    texts = [e["text"] for e in caught.value.details["errors"]]
    assert texts[0].startswith("line 2: the line is over 1,054,576 bytes")
    assert texts[1] == "line 3: text: is empty"
