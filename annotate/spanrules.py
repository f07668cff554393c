"""The span and label rules, in one place: annotations (autosave), gold and import all call these.

Every problem is reported as (field path, message) to an error collector, so the three callers
give the same words for the same bad input: `spans[3].end: 4120 is past the end of the text
(3936)`. Rules that hold everywhere:

* Offsets are code point indices into the article text, end exclusive: `0 <= start < end <= len`.
  An offset between the two halves of a surrogate pair (a text that holds one as two code points)
  is refused: half a character is never a span boundary.
* A span's label is one of the project's span labels.
* `attrs` is an object; its known keys are checked (`kind` is direct/partial/scare, `speaker` a
  string or null, `speaker_span` {start, end} inside the text or null); other keys are kept.
* The same (start, end, label) twice in one list is refused (`spans[3]: duplicate of spans[1]
  (PERSON 0-14)`), in an import file too: a duplicate is a mistake in whatever produced the list,
  and silently merging it would hide that mistake in one caller and not in the others.
* A stance of None or "" means "not set" and is dropped; any other value must be a stance label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

QUOTE_KINDS = ("direct", "partial", "scare")


class ErrorSink(Protocol):
    def add(self, path: str, message: str) -> None: ...


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _splits_pair(text: str, offset: int) -> bool:
    return (0 < offset < len(text) and "\ud800" <= text[offset - 1] <= "\udbff"
            and "\udc00" <= text[offset] <= "\udfff")


def check_offsets(where: str, start: Any, end: Any, *, errors: ErrorSink, text_len: int | None,
                  text: str | None = None) -> bool:
    """`where.start`/`where.end`: integers, in order, inside the text (skipped when `text_len` is
    None: the text itself is invalid), not inside a surrogate pair (when `text` is given)."""
    ok = True
    for key, value in (("start", start), ("end", end)):
        if not _int(value) or value < 0:
            errors.add(f"{where}.{key}", f"{value!r} is not a non-negative integer")
            ok = False
    if not ok:
        return False
    if start >= end:
        errors.add(f"{where}.end", f"{end} must be greater than start ({start})")
        return False
    if text_len is not None and end > text_len:
        errors.add(f"{where}.end", f"{end} is past the end of the text ({text_len})")
        return False
    if text is not None:
        for key, value in (("start", start), ("end", end)):
            if _splits_pair(text, value):
                errors.add(f"{where}.{key}", f"{value} splits a surrogate pair (offsets count code points)")
                ok = False
    return ok


def check_attrs(where: str, attrs: Any, *, errors: ErrorSink, text_len: int | None,
                text: str | None = None) -> dict | None:
    """The attrs object with its known keys checked; None (and errors added) when invalid."""
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        errors.add(f"{where}.attrs", "must be an object")
        return None
    ok = True
    kind = attrs.get("kind")
    if kind is not None and kind not in QUOTE_KINDS:
        errors.add(f"{where}.attrs.kind", f"{kind!r} is not a quote kind ({', '.join(QUOTE_KINDS)})")
        ok = False
    speaker = attrs.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        errors.add(f"{where}.attrs.speaker", "must be a string or null")
        ok = False
    speaker_span = attrs.get("speaker_span")
    if speaker_span is not None:
        if not isinstance(speaker_span, dict):
            errors.add(f"{where}.attrs.speaker_span", "must be an object {start, end} or null")
            ok = False
        elif not check_offsets(f"{where}.attrs.speaker_span", speaker_span.get("start"), speaker_span.get("end"),
                               errors=errors, text_len=text_len, text=text):
            ok = False
    return attrs if ok else None


def check_span(where: str, span: Any, *, errors: ErrorSink, text_len: int | None, span_labels: Iterable[str],
               text: str | None = None) -> dict | None:
    """One span object: {start, end, label, attrs?}. Returns {start, end, label, attrs} or None."""
    # Readers mark a record they could not turn into an object (a doccano triple of the wrong shape).
    if not isinstance(span, dict) or "_malformed" in span:
        errors.add(where, "must be an object {start, end, label, attrs?}")
        return None
    start, end, label = span.get("start"), span.get("end"), span.get("label")
    ok = check_offsets(where, start, end, errors=errors, text_len=text_len, text=text)
    labels = span_labels if isinstance(span_labels, (set, frozenset, dict)) else set(span_labels)
    if not isinstance(label, str) or label not in labels:
        errors.add(f"{where}.label", f"{label!r} is not a span label of this project ({', '.join(sorted(labels))})")
        ok = False
    attrs = check_attrs(where, span.get("attrs"), errors=errors, text_len=text_len, text=text)
    if attrs is None or not ok:
        return None
    return {"start": start, "end": end, "label": label, "attrs": attrs}


def check_spans(spans: Any, *, errors: ErrorSink, text_len: int | None, span_labels: Iterable[str],
                text: str | None = None, path: str = "spans", indexed: bool = True,
                extra: Callable[[str, dict, dict], bool] | None = None) -> list[tuple[int, dict]]:
    """A list of spans; returns (index, clean span) for each valid one, duplicates refused.
    `extra(where, raw, clean)` checks a caller's own keys (ids, suggestion links), adding to
    `clean`; False drops the span. `indexed=False`: one span named `path` (`span.end`)."""
    if not isinstance(spans, list):
        errors.add(path, "must be a list")
        return []
    labels = set(span_labels)
    out: list[tuple[int, dict]] = []
    seen: dict[tuple, int] = {}
    for i, span in enumerate(spans):
        where = f"{path}[{i}]" if indexed else path
        clean = check_span(where, span, errors=errors, text_len=text_len, span_labels=labels, text=text)
        if extra is not None and isinstance(span, dict) and not extra(where, span, clean if clean is not None else {}):
            clean = None
        if clean is None:
            continue
        key = (clean["start"], clean["end"], clean["label"])
        if key in seen:
            errors.add(where, f"duplicate of {path}[{seen[key]}] ({clean['label']} {clean['start']}-{clean['end']})")
            continue
        seen[key] = i
        out.append((i, clean))
    return out


def check_stance(stance: Any, *, errors: ErrorSink, target_keys: Iterable[str], stance_labels: Iterable[str],
                 path: str = "stance") -> dict[str, str]:
    """{target key: label}; None or "" = not set (left out of the result)."""
    if not isinstance(stance, dict):
        errors.add(path, "must be an object {target key: label}")
        return {}
    keys, labels = set(target_keys), set(stance_labels)
    out: dict[str, str] = {}
    for key, label in stance.items():
        if key not in keys:
            errors.add(f"{path}.{key}", f"{key!r} is not a target of this project")
        elif label is None or label == "":
            continue
        elif not isinstance(label, str) or label not in labels:
            errors.add(f"{path}.{key}", f"{label!r} is not a stance label ({', '.join(sorted(labels))})")
        else:
            out[key] = label
    return out


def check_frames(frames: Any, *, errors: ErrorSink, codebook: Iterable[str], path: str = "frames") -> list[str]:
    if not isinstance(frames, list):
        errors.add(path, "must be a list")
        return []
    known = set(codebook)
    for i, frame in enumerate(frames):
        if not isinstance(frame, str) or frame not in known:
            errors.add(f"{path}[{i}]", f"{frame!r} is not a frame of this project's codebook")
        elif frames.index(frame) != i:
            errors.add(f"{path}[{i}]", f"duplicate {frame!r}")
    return list(frames)


def check_primary_frame(primary: Any, *, errors: ErrorSink, codebook: Iterable[str],
                        frames: Any = None) -> str:
    """"" / None = none. When `frames` is a non-empty list the primary frame must be one of them."""
    primary = primary or ""
    if not isinstance(primary, str) or (primary and primary not in set(codebook)):
        errors.add("primary_frame", f"{primary!r} is not a frame of this project's codebook")
    elif primary and isinstance(frames, list) and frames and primary not in frames:
        errors.add("primary_frame", f"{primary!r} must be one of the chosen frames")
    return primary if isinstance(primary, str) else ""


class Errors:
    """Collects field-path errors; `raise_if_any` raises one ValidationFailed naming the first."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, []).append(message)

    def raise_if_any(self, code_cls=None) -> None:
        from annotate.errors import ValidationFailed

        if self.items:
            path, messages = next(iter(self.items.items()))
            raise (code_cls or ValidationFailed)(f"{path}: {messages[0]}", details=self.items)
