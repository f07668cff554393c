"""Export options: validated once, stored normalised on the job (so a rerun reads the same).

The table of options, types and defaults users read is annotate/exports/README.md; the OpenAPI
schema (api/exports/serializers.ExportOptions) says the same. Change all three together.
"""

from __future__ import annotations

import datetime as dt
from math import gcd
from typing import Any

from annotate.errors import ValidationFailed

from .base import LABEL_MODES, SPAN_LAYERS, SPLIT_NAMES

# Kept here (not imported from annotate.stories): options are validated without the models.
GROUP_BY = ("story", "duplicate_group", "source")

# Stored in the job's options and rendered in every export listing: past 2^63-1 the renderer
# (orjson) fails, and one such job broke the project's export list for everyone.
MAX_SEED = 2**63 - 1

DEFAULTS: dict[str, Any] = {
    "labels": "annotators",
    "submitted_only": True,
    "published_from": None,
    "published_to": None,
    "targets": None,
    "span_layer": "entities",
    "user_names": False,
    "split": None,
    "include_suggestions": False,
    "include_predictions": False,
}
# A split without a seed is seeded with this (and the job records it).
DEFAULT_SPLIT_SEED = 0


def _date(value: Any, key: str, errors: dict) -> str | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        errors[key] = [f"{value!r} is not an ISO date (YYYY-MM-DD)"]
        return None


def _split(value: Any, errors: dict) -> dict | None:
    if value in (None, False):
        return None
    if not isinstance(value, dict):
        errors["split"] = ['must be an object like {"seed": 13, "train": 80, "dev": 10, "test": 10}']
        return None
    unknown = sorted(set(value) - {"seed", "group_by", *SPLIT_NAMES})
    if unknown:
        errors["split"] = [f"unknown key {k!r}" for k in unknown]
        return None
    # No silent 80/10/10: a split that forgets a part is a mistake the caller should hear about.
    missing = [k for k in SPLIT_NAMES if k not in value]
    if missing:
        errors["split"] = [f"must name all three parts (train, dev, test) in percent; missing {', '.join(missing)}"]
        return None
    out: dict[str, int] = {}
    for key in ("seed", *SPLIT_NAMES):
        v = value.get(key, DEFAULT_SPLIT_SEED)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (key != "seed" and v > 100):
            errors[f"split.{key}"] = ["must be a non-negative integer" if key == "seed"
                                      else "must be an integer percentage from 0 to 100"]
            return None
        if key == "seed" and v > MAX_SEED:
            errors["split.seed"] = [f"must be at most {MAX_SEED} (2^63-1)"]
            return None
        out[key] = v
    if "group_by" in value:
        group_by = value["group_by"]
        if group_by is not None and group_by not in GROUP_BY:
            errors["split.group_by"] = [f"must be one of {', '.join(GROUP_BY)}, or null (stratified by stance)"]
            return None
        out["group_by"] = group_by
    total = out["train"] + out["dev"] + out["test"]
    if total != 100:
        errors["split"] = [f"train + dev + test must be 100 (percent); got {out['train']} + {out['dev']} + "
                           f"{out['test']} = {total}"]
        return None
    return out


def export_options_validate(options: Any, *, target_keys: list[str]) -> dict[str, Any]:
    """A complete, normalised options dict, or ValidationFailed naming each bad field.

    Every key of DEFAULTS is present in the result, so two requests that differ only in
    spelled-out defaults produce the same stored options and the same bytes.
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValidationFailed("options must be a JSON object.", details={"options": ["not an object"]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        errors["options"] = [f"unknown option {k!r}" for k in unknown]
    merged = {**DEFAULTS, **options}
    if merged["labels"] not in LABEL_MODES:
        errors["labels"] = [f"must be one of {', '.join(LABEL_MODES)}"]
    if merged["span_layer"] not in SPAN_LAYERS:
        errors["span_layer"] = [f"must be one of {', '.join(SPAN_LAYERS)}"]
    for key in ("submitted_only", "user_names", "include_suggestions", "include_predictions"):
        if not isinstance(merged[key], bool):
            errors[key] = ["must be true or false"]
    merged["published_from"] = _date(merged["published_from"], "published_from", errors)
    merged["published_to"] = _date(merged["published_to"], "published_to", errors)
    if merged["published_from"] and merged["published_to"] and merged["published_from"] > merged["published_to"]:
        errors["published_to"] = ["is before published_from"]
    targets = merged["targets"]
    if targets is not None:
        if isinstance(targets, str):
            targets = [t for t in targets.split(",") if t]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets) or not targets:
            errors["targets"] = ["must be a non-empty list of target keys"]
        else:
            missing = [t for t in targets if t not in target_keys]
            if missing:
                errors["targets"] = [f"unknown target {t!r}" for t in missing]
            targets = sorted(set(targets))
    merged["targets"] = targets
    merged["split"] = _split(merged["split"], errors)
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"Invalid export options: {first}: {errors[first][0]}", details=errors)
    return merged


def split_block(split: dict) -> list[str]:
    """The smallest block of split names with the requested proportions (80/10/10 → 10 slots)."""
    g = 0
    for name in SPLIT_NAMES:
        g = gcd(g, split[name])
    return [name for name in SPLIT_NAMES for _ in range(split[name] // g)]
