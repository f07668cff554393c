"""Readers turn a file, folder or zip into a stream of (line number, raw record | error).

Each reader streams: memory stays bounded by one record, whatever the file size (Label Studio's
JSON export is one JSON document and is the exception). Line numbers are 1-based physical lines
for JSONL and CSV, and 1-based file positions for folders and zips of .txt files.
"""

from __future__ import annotations

import csv
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from annotate.inputs import InputRefused, NotJSON, json_loads

FORMATS = ("jsonl", "csv", "txt", "labelstudio")


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message, "text": str(self)}


Item = tuple[int, dict | LineError | list[LineError]]


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "txt"
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix in {".zip", ".txt"}:
        return "txt"
    if suffix == ".json":
        # A Label Studio export is one JSON array; a .json file with one object per line is JSONL.
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return "labelstudio" if head.startswith(b"[") else "jsonl"
    raise ValueError(
        f"{path.name}: cannot tell the format from the extension {suffix or '(none)'}; "
        f"use .jsonl, .csv, .json (Label Studio), .zip or a folder of .txt files, or pass a format")


def _decode_line(raw: bytes, number: int) -> str | LineError:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        return LineError(number, "", f"not valid UTF-8 (byte 0x{bad} at byte {exc.start} of the line)")


def text_byte_limit() -> int:
    """Bytes that can hold IMPORT_MAX_TEXT_CHARS characters of UTF-8 (4 at most each), plus a BOM."""
    return settings.IMPORT_MAX_TEXT_CHARS * 4 + 3


def record_byte_limit() -> int:
    # A JSON record may escape every character (`\uXXXX`, 6 bytes) and carry metadata and spans.
    return settings.IMPORT_MAX_TEXT_CHARS * 6 + (1 << 20)


def refused_errors(exc: InputRefused, number: int, prefix: str = "") -> list[LineError]:
    return [LineError(number, f"{prefix}{r.path}" if r.path else prefix.rstrip("."), r.message) for r in exc.refusals]


def _lines(fh, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Physical lines, each read with a cap: a line longer than `limit` comes back as None and
    is skipped without ever being held in memory."""
    number = 0
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(1 << 20)
            yield number, None
            continue
        yield number, raw


def read_jsonl(path: Path) -> Iterator[Item]:
    limit = record_byte_limit()
    with path.open("rb") as fh:
        for number, raw in _lines(fh, limit):
            if raw is None:
                yield number, LineError(number, "", f"the line is over {limit:,} bytes (IMPORT_MAX_TEXT_CHARS)")
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue  # blank lines (often a trailing one) are not records
            decoded = _decode_line(raw, number)
            if isinstance(decoded, LineError):
                yield number, decoded
                continue
            try:
                record = json_loads(raw)
            except NotJSON as exc:
                # One line number only (ours): the parser's "line 2 column 1" counts inside the record.
                where = f" at character {exc.pos + 1}" if exc.pos is not None else ""
                yield number, LineError(number, "", f"invalid JSON: {exc.reason}{where}")
                continue
            except InputRefused as exc:
                errors = refused_errors(exc, number)
                yield number, errors[0] if len(errors) == 1 else errors
                continue
            if not isinstance(record, dict):
                yield number, LineError(number, "", f"expected a JSON object, got {type(record).__name__}")
                continue
            yield number, normalise_foreign_record(record)


def normalise_foreign_record(record: dict) -> dict:
    """Map doccano's JSONL span forms onto ours, leaving native records untouched.

    doccano sequence labelling: `"label": [[start, end, "LABEL"], ...]` (older) or
    `"entities": [{"start_offset", "end_offset", "label"}]` (newer). A doccano text
    classification `"label": ["a", "b"]` is kept in meta, since it is not a span.
    """
    if "spans" in record:
        return record
    label = record.get("label")
    if isinstance(label, list) and label and all(isinstance(x, list) for x in label):
        record = {k: v for k, v in record.items() if k != "label"}
        record["spans"] = [
            {"start": x[0], "end": x[1], "label": x[2]} if len(x) == 3 else {"_malformed": x} for x in label
        ]
    elif isinstance(label, list) and label and all(isinstance(x, str) for x in label):
        record = {k: v for k, v in record.items() if k != "label"}
        record.setdefault("meta", {})
        if isinstance(record["meta"], dict):
            record["meta"] = {**record["meta"], "doccano_labels": label}
    entities = record.get("entities")
    if isinstance(entities, list) and all(isinstance(x, dict) and "start_offset" in x for x in entities):
        record = {k: v for k, v in record.items() if k != "entities"}
        record["spans"] = [
            {"start": x.get("start_offset"), "end": x.get("end_offset"), "label": x.get("label")} for x in entities
        ]
    return record


# Fields a CSV may carry as columns; every other column goes into meta.
CSV_FIELDS = ("id", "title", "source", "url", "published", "text")


def read_csv(path: Path) -> Iterator[Item]:
    # Validate UTF-8 per physical line first, so an error names the line, not a byte offset.
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            decoded = _decode_line(raw, number)
            if isinstance(decoded, LineError):
                yield number, decoded
                return
    csv.field_size_limit(2**31 - 1)  # articles are long; the default 128 KiB limit would split them
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            yield 1, LineError(1, "text", f"the CSV header has no 'text' column (columns: {reader.fieldnames or []})")
            return
        try:
            for row in reader:
                number = reader.line_num  # physical line where this record ends
                if None in row:
                    yield number, LineError(number, "", f"{len(row[None])} more fields than the header has")
                    continue
                record = {k: v for k, v in row.items() if k in CSV_FIELDS and v not in (None, "")}
                record["text"] = row.get("text") or ""
                meta = {k: v for k, v in row.items() if k not in CSV_FIELDS}
                if meta:
                    record["meta"] = meta
                yield number, record
        except csv.Error as exc:
            yield reader.line_num, LineError(reader.line_num, "", f"malformed CSV: {exc}")


def _too_big(name: str, size: int, number: int) -> Item:
    return number, LineError(number, "text", f"{name}: {size:,} bytes is over the limit of {text_byte_limit():,} "
                                             f"bytes (IMPORT_MAX_TEXT_CHARS)")


def _txt_record(name: str, data: bytes, number: int) -> Item:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return number, LineError(number, "text", f"{name}: not valid UTF-8 (byte {exc.start})")
    return number, {"id": Path(name).stem, "text": text, "meta": {"file": name}}


def read_txt(path: Path) -> Iterator[Item]:
    """A folder or zip of .txt files (one article each, id = file name without .txt), or one .txt file.

    No file is read past the text limit: a zip's members are checked against their declared size
    and then read with a cap (the header can lie), and the whole archive against
    IMPORT_MAX_ARCHIVE_BYTES, so a small zip that inflates to gigabytes is refused, not inflated.
    """
    limit = text_byte_limit()
    if path.is_dir() or path.suffix.lower() == ".txt":
        files = sorted(p for p in path.rglob("*.txt") if p.is_file()) if path.is_dir() else [path]
        for number, file in enumerate(files, start=1):
            name = str(file.relative_to(path)) if path.is_dir() else path.name
            with file.open("rb") as fh:
                data = fh.read(limit + 1)
            yield _too_big(name, file.stat().st_size, number) if len(data) > limit else _txt_record(name, data, number)
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        yield 0, LineError(0, "", f"{path.name} is not a valid zip file")
        return
    total_limit = settings.IMPORT_MAX_ARCHIVE_BYTES
    with archive:
        members = sorted(
            (i for i in archive.infolist()
             if i.filename.lower().endswith(".txt") and not i.filename.startswith("__MACOSX/") and not i.is_dir()),
            key=lambda i: i.filename,
        )
        declared = sum(i.file_size for i in members)
        if declared > total_limit:
            yield 0, LineError(0, "", f"{path.name} inflates to {declared:,} bytes, over the limit of "
                                      f"{total_limit:,} (IMPORT_MAX_ARCHIVE_BYTES)")
            return
        total = 0
        for number, info in enumerate(members, start=1):
            if info.file_size > limit:
                yield _too_big(info.filename, info.file_size, number)
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(min(limit, total_limit - total) + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
                yield number, LineError(number, "text", f"{info.filename}: cannot be read from the zip ({exc})")
                continue
            total += len(data)
            if total > total_limit:
                yield 0, LineError(0, "", f"{path.name} inflates to more than {total_limit:,} bytes "
                                          f"(IMPORT_MAX_ARCHIVE_BYTES)")
                return
            if len(data) > limit:  # the header said less: it lied
                yield _too_big(info.filename, len(data), number)
                continue
            yield _txt_record(info.filename, data, number)


def _utf16_to_codepoints(text: str, offset: int) -> int:
    """Label Studio counts offsets in the browser's UTF-16 units; we count code points."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _labelstudio_spans(task: dict, text: str) -> list[dict]:
    spans = []
    for key in ("annotations", "predictions"):
        for entry in task.get(key) or []:
            for result in (entry or {}).get("result") or []:
                value = (result or {}).get("value") or {}
                labels = value.get("labels") or value.get("hypertextlabels") or []
                start, end = value.get("start"), value.get("end")
                if not labels or not isinstance(start, int) or not isinstance(end, int):
                    continue
                # Trust the code-point reading when it reproduces LS's own copy of the span text;
                # otherwise read the offsets as UTF-16 (what LS's browser code produced).
                if "text" in value and text[start:end] != value["text"]:
                    start, end = _utf16_to_codepoints(text, start), _utf16_to_codepoints(text, end)
                for label in labels:
                    spans.append({"start": start, "end": end, "label": label})
        if spans:
            break  # prefer human annotations over predictions
    return spans


_TASK_PATH = re.compile(r"^\[(\d+)\]\.?")


def read_labelstudio(path: Path) -> Iterator[Item]:
    limit = settings.IMPORT_MAX_ARCHIVE_BYTES
    if path.stat().st_size > limit:
        yield 0, LineError(0, "", f"{path.name} is over the limit of {limit:,} bytes (IMPORT_MAX_ARCHIVE_BYTES)")
        return
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        tasks = json_loads(data)
    except NotJSON as exc:
        yield 0, LineError(0, "", f"invalid JSON: {exc}")
        return
    except InputRefused as exc:
        # "[3].data.meta.x" is task 4's data.meta.x: reported as its line, like the other formats
        by_task: dict[int, list[LineError]] = {}
        for refusal in exc.refusals:
            match = _TASK_PATH.match(refusal.path)
            number = int(match.group(1)) + 1 if match else 0
            field = refusal.path[match.end():] if match else refusal.path
            by_task.setdefault(number, []).append(LineError(number, field, refusal.message))
        yield from sorted(by_task.items())
        return
    if not isinstance(tasks, list):
        yield 0, LineError(0, "", "a Label Studio export is a JSON array of tasks")
        return
    for number, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            yield number, LineError(number, "data", "each task needs a 'data' object (task number as line)")
            continue
        data = task["data"]
        text = data.get("text")
        record = {k: data[k] for k in ("title", "source", "url", "published", "meta") if k in data}
        record["text"] = text
        record["id"] = data.get("id", task.get("id"))
        if isinstance(text, str):
            spans = _labelstudio_spans(task, text)
            if spans:
                record["spans"] = spans
        yield number, record


READERS = {"jsonl": read_jsonl, "csv": read_csv, "txt": read_txt, "labelstudio": read_labelstudio}


def read_records(path: Path, fmt: str = "auto") -> Iterator[Item]:
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in READERS:
        raise ValueError(f"unknown import format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return READERS[fmt](path)


def spool_upload(upload, directory: Path, name: str) -> Path:
    """Write an uploaded file object to disk so that it can be read twice (validate, then write)."""
    target = directory / Path(name).name
    with target.open("wb") as out:
        chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b"")
        for chunk in chunks:
            out.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
    return target


__all__ = ["FORMATS", "LineError", "read_records", "spool_upload"]
