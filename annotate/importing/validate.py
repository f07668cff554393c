"""Validation of one raw import record into an ArticleIn, with errors that name line and field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from annotate import spanrules
from annotate.inputs import datetime_problem, string_problem, url_problem, value_problems

from .readers import LineError

KNOWN_FIELDS = {"id", "text", "title", "source", "url", "published", "meta", "spans", "gold", "story"}
# Fields that other tools write and we accept silently (kept out of meta); anything else goes to meta.
IGNORED_FIELDS = {"source_file", "licence", "license"}
MAX_ID_LENGTH = 255
MAX_SOURCE_LENGTH = 255


@dataclass
class SpanIn:
    start: int
    end: int
    label: str
    attrs: dict = field(default_factory=dict)


@dataclass
class ArticleIn:
    line: int
    text: str
    external_id: str | None = None
    title: str = ""
    source: str = ""
    url: str = ""
    published: dt.datetime | None = None
    meta: dict = field(default_factory=dict)
    spans: list[SpanIn] = field(default_factory=list)
    # Labels imported as gold ({"stance", "frames", "primary_frame"}), checked against the
    # project's codebook by check_gold; None = the record has none.
    gold: dict | None = None
    # A story set by hand (annotate.services.stories): articles with the same value share one.
    story: str | None = None


GOLD_KEYS = {"stance", "frames", "primary_frame"}


def check_gold(raw, *, line: int, target_keys, stance_labels, frames) -> tuple[dict | None, list[LineError]]:
    """A record's `gold` object, validated like an annotation (annotate.spanrules): errors name
    the line and the field (`gold.stance.<target>`, `gold.frames[1]`, `gold.primary_frame`)."""
    errors: list[LineError] = []
    sink = _PrefixSink(_LineSink(line, errors), "gold.")
    if not isinstance(raw, dict):
        return None, [LineError(line, "gold", f"expected a JSON object, got {type(raw).__name__}")]
    for key in raw:
        if key not in GOLD_KEYS:
            errors.append(LineError(line, f"gold.{key}", f"unknown key (allowed: {', '.join(sorted(GOLD_KEYS))})"))
    stance = spanrules.check_stance(raw.get("stance") or {}, errors=sink, target_keys=target_keys,
                                    stance_labels=stance_labels)
    chosen = spanrules.check_frames(raw.get("frames") or [], errors=sink, codebook=frames)
    primary = spanrules.check_primary_frame(raw.get("primary_frame"), errors=sink, codebook=frames, frames=chosen)
    if not stance and not chosen and not primary:
        return None, errors  # nothing decided: no gold is stored (as for a record without one)
    return {"stance": stance, "frames": chosen, "primary_frame": primary}, errors


class _PrefixSink:
    def __init__(self, sink, prefix: str) -> None:
        self.sink, self.prefix = sink, prefix

    def add(self, path: str, message: str) -> None:
        self.sink.add(self.prefix + path, message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_published(value) -> dt.datetime | None | str:
    """A datetime, None, or an error message."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return f"expected an ISO 8601 date or date-time string, got {type(value).__name__}"
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return f"{value!r} is not an ISO 8601 date or date-time"
            parsed = dt.datetime.combine(day, dt.time.min)
    except ValueError as exc:
        return f"{value!r} is not a valid date: {exc}"
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    problem = datetime_problem(parsed)
    if problem:
        return f"{value!r}: {problem}"
    return parsed


class _LineSink:
    """Adapts the shared span rules' (path, message) errors to this file's line errors."""

    def __init__(self, line: int, errors: list[LineError]) -> None:
        self.line, self.errors = line, errors

    def add(self, path: str, message: str) -> None:
        self.errors.append(LineError(self.line, path, message))


def _spans(raw_spans, *, errors: _LineSink, text: str | None, span_labels: set[str]) -> list[SpanIn]:
    """Imported suggestions, checked by the rules annotations and gold use (annotate.spanrules),
    duplicates refused like everywhere else."""
    if raw_spans is None:
        return []
    clean = spanrules.check_spans(raw_spans, errors=errors, text_len=None if text is None else len(text),
                                  text=text, span_labels=span_labels)
    return [SpanIn(start=s["start"], end=s["end"], label=s["label"], attrs=s["attrs"]) for _, s in clean]


def validate_record(raw: dict, line: int, *, span_labels: set[str], max_chars: int) -> ArticleIn | list[LineError]:
    errors: list[LineError] = []

    def err(field_name: str, message: str) -> None:
        errors.append(LineError(line, field_name, message))

    # Every string, key and number of the record, whatever the format it came from (CSV and txt
    # carry no JSON, so their NULs are found only here): what storage cannot hold is refused.
    for problem in value_problems(raw):
        err(problem.path, problem.message)

    text = raw.get("text")
    if "text" not in raw or text is None:
        err("text", "missing (every article needs a non-empty text)")
    elif not isinstance(text, str):
        err("text", f"expected a string, got {type(text).__name__}")
    elif not text:
        err("text", "is empty")
    elif not text.strip():
        err("text", "contains only whitespace")
    elif len(text) > max_chars:
        err("text", f"{len(text):,} characters is over the limit of {max_chars:,} (IMPORT_MAX_TEXT_CHARS)")
    text_ok = not errors

    external_id = raw.get("id")
    if external_id is not None:
        if _is_int(external_id):
            external_id = str(external_id)
        if not isinstance(external_id, str) or not external_id.strip():
            err("id", f"expected a non-empty string or integer, got {raw.get('id')!r}")
            external_id = None
        elif len(external_id) > MAX_ID_LENGTH:
            err("id", f"longer than {MAX_ID_LENGTH} characters")

    strings = {}
    for name, limit in (("title", None), ("source", MAX_SOURCE_LENGTH), ("url", None)):
        value = raw.get(name)
        if value is None:
            strings[name] = ""
        elif not isinstance(value, str):
            err(name, f"expected a string, got {type(value).__name__}")
        elif limit and len(value) > limit:
            err(name, f"longer than {limit} characters")
        elif name == "url" and url_problem(value) and not string_problem(value):  # NULs: reported above
            err(name, url_problem(value))
        else:
            strings[name] = value

    published = _parse_published(raw.get("published"))
    if isinstance(published, str):
        err("published", published)
        published = None

    meta = raw.get("meta")
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        err("meta", f"expected a JSON object, got {type(meta).__name__}")
        meta = {}
    extra = {k: v for k, v in raw.items() if k not in KNOWN_FIELDS and k not in IGNORED_FIELDS}
    if extra:
        meta = {**meta, **{k: v for k, v in extra.items() if k not in meta}}

    story = raw.get("story")
    if _is_int(story):
        story = str(story)
    if story is None or (isinstance(story, str) and not story.strip()):
        story = None
    elif not isinstance(story, str):
        err("story", f"expected a string or integer naming the story, got {type(story).__name__}")
        story = None
    elif len(story) > MAX_ID_LENGTH:
        err("story", f"longer than {MAX_ID_LENGTH} characters")
    else:
        story = story.strip()

    spans = _spans(raw.get("spans"), errors=_LineSink(line, errors), text=text if text_ok else None,
                   span_labels=span_labels)
    if errors:
        return errors
    return ArticleIn(line=line, text=text, external_id=external_id, published=published, meta=meta,
                     spans=spans, gold=raw.get("gold"), story=story, **strings)
