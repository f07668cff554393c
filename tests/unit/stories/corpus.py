"""The test set of issue 17: the demo corpus, the Wikinews articles, and edited re-posts."""

from __future__ import annotations

import json
import re
from pathlib import Path

DEMO = Path(__file__).resolve().parents[3] / "annotate" / "demo_data" / "seed_articles.jsonl"
WIKINEWS = Path(__file__).resolve().parents[2] / "fixtures" / "wikinews" / "articles.jsonl"

BOILERPLATE = ("\n\nSign up for our morning newsletter to get the day's top stories. "
               "© 2025 Example Media Group. All rights reserved.")


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text.strip())


def edited(record: dict, *, new_id: str, kind: str) -> dict:
    """A re-post: a new headline, boilerplate added, or one sentence in ten rewritten."""
    out = {k: v for k, v in record.items() if k != "source_file"}
    out["id"] = new_id
    text = record["text"]
    if kind == "headline":
        out["title"] = "Kremlin draws a red line: " + (record.get("title") or "troops")
        text = "KREMLIN DRAWS A RED LINE\n\n" + text
    elif kind == "boilerplate":
        text = "Advertisement\n\n" + text + BOILERPLATE
    elif kind == "sentences":
        parts = sentences(text)
        # One sentence in ten (rounded, at least one), spread evenly.
        k = max(1, round(len(parts) / 10))
        for j in range(k):
            parts[(2 * j + 1) * len(parts) // (2 * k)] = ("An agency report added that the remarks were made at "
                                                         "a forum on Thursday.")
        text = " ".join(parts)
    else:
        raise ValueError(kind)
    out["text"] = text
    return out


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path
