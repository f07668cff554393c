"""The project label schema: what annotators may choose, validated with messages that name the field.

Stored as JSON on Project.label_schema. Targets are rows (annotate.models.Target), not part of it.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ValidationFailed

SCHEMA_VERSION = 1

STANCE_LABELS = ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]  # SemEval-2016 task 6 style

# The 15 dimensions of the Media Frames Corpus (Card et al., 2015).
MEDIA_FRAMES = [
    "Economic",
    "Capacity and resources",
    "Morality",
    "Fairness and equality",
    "Legality, constitutionality and jurisprudence",
    "Policy prescription and evaluation",
    "Crime and punishment",
    "Security and defense",
    "Health and safety",
    "Quality of life",
    "Cultural identity",
    "Public opinion",
    "Political",
    "External regulation and reputation",
    "Other",
]

# spaCy's OntoNotes entity types, as produced by the en_core_web_* pipelines.
ENTITY_LABELS = [
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
    "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
]  # fmt: skip
QUOTE_LABEL = "QUOTE"
SPEAKER_LABEL = "SPEAKER"
SPAN_LABELS = [*ENTITY_LABELS, QUOTE_LABEL, SPEAKER_LABEL]

FRAMES_REQUIRED_CHOICES = ("none", "at_least_one")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}$")


def default_label_schema() -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "stance_labels": list(STANCE_LABELS),
        "stance_ordered": False,
        "frames": list(MEDIA_FRAMES),
        "frames_required": "at_least_one",
        "primary_frame_required": True,
        "span_labels": list(SPAN_LABELS),
    }


def _string_list(schema: dict, key: str, errors: dict, *, pattern: re.Pattern | None = None,
                 max_len: int = 200) -> list[str]:
    value = schema.get(key)
    if not isinstance(value, list) or not value:
        errors[key] = ["must be a non-empty list of strings"]
        return []
    seen: set[str] = set()
    out: list[str] = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, str) or not item.strip():
            errors.setdefault(where, []).append("must be a non-empty string")
            continue
        if item != item.strip():
            errors.setdefault(where, []).append(f"{item!r} has leading or trailing spaces")
        if len(item) > max_len:
            errors.setdefault(where, []).append(f"is longer than {max_len} characters")
        if pattern and not pattern.match(item):
            errors.setdefault(where, []).append(
                f"{item!r} may only use letters, digits, '_' and '-' (at most 64)")
        if item in seen:
            errors.setdefault(where, []).append(f"duplicate {item!r}")
        seen.add(item)
        out.append(item)
    return out


def label_schema_validate(schema: Any) -> dict[str, Any]:
    """Return a normalised copy of `schema` (missing keys take defaults) or raise ValidationFailed
    whose details map each bad field (`frames[3]`, `stance_labels`) to its messages."""
    if not isinstance(schema, dict):
        raise ValidationFailed("The label schema must be a JSON object.", details={"label_schema": ["not an object"]})
    merged = {**default_label_schema(), **schema}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(schema) - set(default_label_schema()))
    if unknown:
        errors["label_schema"] = [f"unknown key {k!r}" for k in unknown]
    _string_list(merged, "stance_labels", errors, pattern=_LABEL_RE)
    _string_list(merged, "frames", errors)
    _string_list(merged, "span_labels", errors, pattern=_LABEL_RE)
    if not isinstance(merged["stance_ordered"], bool):
        errors["stance_ordered"] = ["must be true or false"]
    if not isinstance(merged["primary_frame_required"], bool):
        errors["primary_frame_required"] = ["must be true or false"]
    if merged["frames_required"] not in FRAMES_REQUIRED_CHOICES:
        errors["frames_required"] = [f"must be one of {', '.join(FRAMES_REQUIRED_CHOICES)}"]
    if merged["version"] != SCHEMA_VERSION:
        errors["version"] = [f"unsupported schema version {merged['version']!r} (expected {SCHEMA_VERSION})"]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"Invalid label schema: {first}: {errors[first][0]}", details=errors)
    return merged
