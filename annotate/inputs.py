"""The input boundary: refuse what storage or rendering cannot hold, before anything is written.

Every way data comes in goes through here: the API's JSON parser (api.parsers.BoundaryJSONParser,
the default for every JSON endpoint) and every import format (annotate.importing.readers and
validate). What is refused, and why it must be refused at the door rather than later:

- NUL (U+0000) in any string or object key: PostgreSQL text and jsonb cannot store it (the write
  fails with a 500 after validation said yes).
- Lone UTF-16 surrogates (U+D800–U+DFFF without a partner): not encodable as UTF-8, so neither the
  database nor the JSON renderer can write them.
- Nesting deeper than MAX_DEPTH: Python's json recurses (~1000 levels give RecursionError) and
  orjson, our renderer, refuses to write more than 254 levels, so a deep value stored once breaks
  every later read of it (the assignment, the queue's `next`, exports).
- Integers outside the signed 64-bit range: orjson cannot render them, PostgreSQL bigint cannot
  hold them, and orjson (the import reader) silently turns ones past 2^64 into floats.
- Non-finite numbers (NaN, Infinity, 1e999): not JSON; PostgreSQL jsonb refuses them.
- Dates PostgreSQL or Python cannot hold, or outside [INPUT_MIN_YEAR, INPUT_MAX_YEAR]; UTC offsets
  past ±15:59 (PostgreSQL's limit).
- URLs whose scheme is not http or https (`javascript:` would become a link in the UI).

Each problem is a Refusal naming the field path (`spans[2].attrs.x`), so an API answer reads
`notes: contains a NUL character` and an import report `line 12: meta.x: …`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings

from annotate.errors import ValidationFailed

# Deep enough for any real document (a label schema or span attrs nest 3–5 levels); far below
# the 254 levels orjson can render and the ~1000 where Python's json parser overflows its stack.
MAX_DEPTH = 64
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# PostgreSQL refuses UTC offsets of 16 hours or more ("time zone displacement out of range").
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)
URL_SCHEMES = ("http", "https")
MAX_REPORTED = 20  # problems reported per document: enough to fix a file, bounded for a hostile one

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
# A violation needs one of these in the JSON text: an escaped NUL or surrogate (a raw NUL is not
# valid JSON and raw surrogates are not valid UTF-8), a run of 19+ digits, or an exponent of 3+
# digits (the only ways past 2^63 or to infinity). Text without them skips the value walk. Found
# with bytes.translate and substring search (C speed; a regex over every digit was slower than
# parsing the body).
_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_DIGIT_SHAPE = bytes(
    ord("0") if chr(i).isdigit() and i < 128 else ord("e") if chr(i) in "eE" else ord("+") if chr(i) == "+"
    else ord(" ") for i in range(256))


def _suspicious(data: bytes) -> bool:
    if b"\\u" in data and _ESCAPE.search(data):
        return True
    shape = data.translate(_DIGIT_SHAPE)
    return b"0" * 19 in shape or b"e000" in shape or b"e+000" in shape
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_NOT_STRUCTURE = bytes(i for i in range(256) if i not in b'[]{}"\\')
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]')


@dataclass(frozen=True)
class Refusal:
    path: str  # "" for the document itself
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InputRefused(ValidationFailed):
    """A 400 `invalid` whose details map each field path to what is wrong with it."""

    def __init__(self, refusals: list[Refusal], *, root: str = "body"):
        details: dict[str, list[str]] = {}
        for r in refusals:
            details.setdefault(r.path or root, []).append(r.message)
        first = refusals[0]
        super().__init__(f"{first.path or root}: {first.message}", details=details)
        self.refusals = refusals


class NotJSON(ValueError):
    """Not well-formed JSON at all (a syntax error, not a boundary refusal). `reason` and `pos`
    (a 0-based character offset, None when unknown) let a caller that numbers lines itself say
    where without a second, clashing line number."""

    def __init__(self, message: str, *, reason: str | None = None, pos: int | None = None):
        super().__init__(message)
        self.reason = reason or message
        self.pos = pos


def _show_key(key: str) -> str:
    """A key as it appears in a path: escaped if it holds what cannot be rendered, and short."""
    if _BAD_CHARS.search(key):
        key = json.dumps(key)  # ASCII escapes: the error message itself must be renderable
    return key if len(key) <= 60 else key[:57] + "…"


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_show_key(key)}" if path else _show_key(key)


def _short(path: str) -> str:
    """A path 64 levels deep is unreadable: its start says where to look."""
    return path if len(path) <= 80 else path[:80] + "…"


def string_problem(value: str) -> str | None:
    # An ASCII string (known in O(1)) holds no surrogate, and `in` finds a NUL at memchr speed:
    # the regex below scanned every article text once per import pass.
    if value.isascii() and "\x00" not in value:
        return None
    bad = _BAD_CHARS.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return (f"contains a lone UTF-16 surrogate (\\u{ord(bad.group()):04x}), which is not valid Unicode "
            "and cannot be stored")


def _int_problem(value: int) -> str | None:
    if INT_MIN <= value <= INT_MAX:
        return None
    digits = str(value)
    shown = digits if len(digits) <= 30 else f"{digits[:12]}… ({len(digits)} digits)"
    return f"integer {shown} is outside the signed 64-bit range (-2^63 … 2^63-1)"


def value_problems(value: Any, path: str = "", *, depth: int = 0, limit: int = MAX_REPORTED) -> list[Refusal]:
    """Every string, key and number of a parsed JSON value that storage or rendering cannot hold.

    Iterative (a hostile value cannot overflow the stack); `depth` is how deep `value` already
    sits in its document (0 = the document itself).
    """
    problems: list[Refusal] = []
    stack: list[tuple[Any, str, int]] = [(value, path, depth)]
    while stack and len(problems) < limit:
        item, where, level = stack.pop()
        if isinstance(item, str):
            message = string_problem(item)
            if message:
                problems.append(Refusal(where, message))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            message = _int_problem(item)
            if message:
                problems.append(Refusal(where, message))
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                problems.append(Refusal(where, "is not a finite number"))
        elif isinstance(item, dict | list | tuple):
            if level >= MAX_DEPTH:
                problems.append(Refusal(_short(where), f"nested deeper than {MAX_DEPTH} levels"))
                continue
            if isinstance(item, dict):
                children = []
                for key, child in item.items():
                    key = str(key)
                    here = join(where, key)
                    message = string_problem(key)
                    if message:
                        problems.append(Refusal(here, "key " + message))
                    children.append((child, here, level + 1))
            else:
                children = [(child, join(where, i), level + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))  # report in document order
    return problems


def _path_of(frames: list[list]) -> str:
    path = ""
    for kind, key in frames:
        if kind == "obj" and key is not None or kind == "arr":
            path = join(path, key)
    return path


def _too_deep(data: bytes) -> Refusal | None:
    """Whether the document nests deeper than MAX_DEPTH, found without parsing (so without
    recursion). Fast checks in C first; only a document that is too deep is walked in Python."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return None  # cannot be deeper than the number of containers it opens
    brackets = _structure(data)
    for _ in range(MAX_DEPTH):  # each pass removes the innermost level of every branch
        if not brackets:
            return None
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:
            return None  # unbalanced: not JSON, and the parser says so
        brackets = shorter
    return _deep_path(data) if brackets else None


def _structure(data: bytes) -> bytes:
    """The document's brackets outside strings. Usually at C speed: keep only brackets, quotes and
    backslashes; with no backslash, quotes alternate open/close, so string contents are every
    other piece between quotes, and a document whose strings hold no bracket is its other pieces."""
    kept = data.translate(None, _NOT_STRUCTURE)
    if b"\\" not in kept:
        pieces = kept.split(b'"')
        if not any(pieces[1::2]):
            return b"".join(pieces[0::2])
    return _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))


def _deep_path(data: bytes) -> Refusal | None:
    """The first container opened below MAX_DEPTH, named by the path of the value holding it."""
    frames: list[list] = []  # [kind, key or index] per open container
    last_string = None
    for match in _TOKENS.finditer(data):
        token = match.group()
        first = token[:1]
        if first == b'"':
            last_string = token
        elif first in (b"{", b"["):
            if len(frames) >= MAX_DEPTH:
                return Refusal(_short(_path_of(frames)), f"nested deeper than {MAX_DEPTH} levels")
            frames.append(["obj", None] if first == b"{" else ["arr", 0])
        elif first in (b"}", b"]"):
            if frames:
                frames.pop()
        elif first == b":" and frames and frames[-1][0] == "obj" and last_string is not None:
            try:
                frames[-1][1] = json.loads(last_string)
            except ValueError:
                frames[-1][1] = "?"
        elif first == b"," and frames and frames[-1][0] == "arr":
            frames[-1][1] += 1
    return None


def _refuse_constant(name: str):
    raise NotJSON(f"{name} is not valid JSON (numbers must be finite)")


def json_loads(data: bytes | str, *, max_bytes: int | None = None) -> Any:
    """Parse one JSON document at the boundary.

    Raises NotJSON for malformed JSON and InputRefused for well-formed JSON that cannot be stored
    or rendered (see the module docstring). Fast path: orjson, when the text cannot hold a
    violation; otherwise Python's json (exact big integers, lone surrogates) and a value walk.
    """
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as exc:  # a str holding lone surrogates, from a caller that decoded
            raise InputRefused([Refusal("", f"is not valid UTF-8 (character {exc.start})")]) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise InputRefused([Refusal("", f"{len(data):,} bytes is over the limit of {max_bytes:,} bytes")])
    deep = _too_deep(data)
    if deep is not None:
        raise InputRefused([deep])
    if not _suspicious(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # let Python's parser give its (more familiar) message
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:  # unreachable after _too_deep; kept so no input can ever give a 500
        raise InputRefused([Refusal("", f"nested deeper than {MAX_DEPTH} levels")]) from None
    except NotJSON:
        raise
    except json.JSONDecodeError as exc:
        raise NotJSON(str(exc), reason=exc.msg, pos=exc.pos) from None
    except ValueError as exc:  # UnicodeDecodeError, int digits limit
        raise NotJSON(str(exc)) from None
    problems = value_problems(value)
    if problems:
        raise InputRefused(problems)
    return value


def year_range() -> tuple[int, int]:
    # Whatever is configured, years 1 and 9999 stay out: an offset can move them past what
    # Python's datetime holds (year 1 at +01:00 is stored as 1 BC and can never be read again).
    return max(settings.INPUT_MIN_YEAR, 2), min(settings.INPUT_MAX_YEAR, 9998)


def datetime_problem(value: dt.datetime | dt.date) -> str | None:
    """Why a date or date-time cannot be stored (or is not a plausible publication date)."""
    low, high = year_range()
    if not low <= value.year <= high:
        return f"year {value.year} is outside {low}–{high} (INPUT_MIN_YEAR / INPUT_MAX_YEAR)"
    if isinstance(value, dt.datetime) and value.utcoffset() is not None and abs(value.utcoffset()) > MAX_UTC_OFFSET:
        return "UTC offset is past ±15:59, which PostgreSQL cannot store"
    return None


def url_problem(value: str) -> str | None:
    """Only absolute http(s) URLs are kept: anything else (javascript:, data:, file:) would be
    a link the UI must not render."""
    if value == "":
        return None
    problem = string_problem(value)
    if problem:
        return problem
    try:
        parts = urlsplit(value.strip())
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() not in URL_SCHEMES:
        scheme = parts.scheme or "(none)"
        return f"scheme {_show_key(scheme)!r} is not allowed: only http and https URLs"
    if not parts.netloc:
        return "is not an absolute http(s) URL (no host)"
    return None


def is_safe_url(value: str) -> bool:
    return url_problem(value) is None


__all__ = ["MAX_DEPTH", "InputRefused", "NotJSON", "Refusal", "datetime_problem", "json_loads", "string_problem",
           "url_problem", "value_problems"]
