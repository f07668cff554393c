"""Readers turn a file, folder or zip into a stream of (line number, raw record | error).

Each reader streams: memory stays bounded by one record, whatever the file size (Label Studio's
JSON export is one JSON document and is the exception). Line numbers are 1-based physical lines
for JSONL and CSV, and 1-based file positions for folders and zips of .txt files.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

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


Item = tuple[int, dict | LineError]


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


def read_jsonl(path: Path) -> Iterator[Item]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue  # blank lines (often a trailing one) are not records
            decoded = _decode_line(raw, number)
            if isinstance(decoded, LineError):
                yield number, decoded
                continue
            try:
                record = orjson.loads(decoded)
            except orjson.JSONDecodeError as exc:
                yield number, LineError(number, "", f"invalid JSON: {exc}")
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


def _txt_record(name: str, data: bytes, number: int) -> Item:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return number, LineError(number, "text", f"{name}: not valid UTF-8 (byte {exc.start})")
    return number, {"id": Path(name).stem, "text": text, "meta": {"file": name}}


def read_txt(path: Path) -> Iterator[Item]:
    """A folder or zip of .txt files (one article each, id = file name without .txt), or one .txt file."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        for number, file in enumerate(files, start=1):
            yield _txt_record(str(file.relative_to(path)), file.read_bytes(), number)
        return
    if path.suffix.lower() == ".txt":
        yield _txt_record(path.name, path.read_bytes(), 1)
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        yield 0, LineError(0, "", f"{path.name} is not a valid zip file")
        return
    with archive:
        names = sorted(
            n for n in archive.namelist()
            if n.lower().endswith(".txt") and not n.startswith("__MACOSX/") and not n.endswith("/")
        )
        for number, name in enumerate(names, start=1):
            yield _txt_record(name, archive.read(name), number)


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


def read_labelstudio(path: Path) -> Iterator[Item]:
    try:
        tasks = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        yield 0, LineError(0, "", f"not valid UTF-8 (byte {exc.start})")
        return
    except json.JSONDecodeError as exc:
        yield exc.lineno, LineError(exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})")
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
