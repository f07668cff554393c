"""`jsonl.v1`: the dataset JSONL of FORMATS.md, one article per line.

Every line has every key below with the same type (null where absent), keys sorted, so the
file loads unmodified with `pandas.read_json(path, lines=True)` and `datasets`:

* `id` (str: external id, else the database id), `title`/`source`/`url` (str|null),
  `published` (ISO 8601 date-time in UTC|null), `meta` (the importer's object, as is), `text`.
* `entities`: reference spans that are not quotes —
  `{"start", "end", "label", "text", "origin"}`; `quotes`: `{"start", "end", "text", "kind",
  "speaker", "speaker_span": {"start", "end"}|null, "origin"}`. Reference spans come from people
  only (annotate.exports.rows): `spans_from` (str, every row) says which —
  `gold` (the Gold row's spans), `majority` (spans more than half of the submitted annotations
  contain) or `none` (no gold spans and no submitted annotation with spans: both lists empty).
  `origin` is where a person's span was first proposed (`human`; `model`/`import` when an
  adjudicated gold kept an accepted suggestion's origin).
* `suggestions`: null unless `include_suggestions` is true; then a list (possibly empty) of the
  article's model/import suggestions — `{"start", "end", "label", "text", "origin"
  ("model"|"import"), "model_name", "model_version" (str|null), "attrs"}`. Never merged into
  `entities`/`quotes`.
* `predictions` (only with `include_predictions`, then on every line): the active model's
  prediction, its own layer — `{"model_version", "stance": {target: label}, "probabilities":
  {target: {label: p}}, "frames", "primary_frame"}` or null. Never merged into the labels.
* `annotations`: with `labels="annotators"` (default) one object per annotation —
  `{"annotator", "stance", "frames", "primary_frame", "notes", "spans": [{"start", "end",
  "label", "text", "origin", "attrs"}], "submitted", "submitted_at", "suggestions_shown"
  (bool|null: whether the model's stance suggestions were shown; null: the screen never asked),
  "suggestion_model_version" (int|null)}`; `annotator` is a
  stable pseudonym (8 hex characters, the same for a user in every export of the project)
  unless `user_names` is true. `frames` is null when the annotator chose none (they said
  nothing about frames); a target they did not answer is absent from `stance`.
  Empty for `labels="gold"` and `labels="majority"`.
* `gold`: `{"stance", "frames", "primary_frame", "method"}` from the Gold row
  (method `adjudicated|unanimous|majority`); with `labels="majority"` an article without a
  Gold row gets the majority over its submitted annotations (method `majority`; a target
  without a strict majority is left out of `stance`; `frames` lists the frames more than half of
  the annotators who chose frames chose, and is null when no frame has such a majority);
  otherwise null. Missing is never written as a negative: `frames: null` means "not decided",
  `frames: [...]` lists positives.
* `split` (`train|dev|test`) only when a split was requested — then on every line.
* `story` (int|null: the article's story id at the time of the export), `duplicate_group`
  (str|null: the export id of the first article of its near-duplicate group) and
  `labels_from` (str|null: the article whose document labels this one carries, when the project
  annotates one article per duplicate group); see annotate.stories.export.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from annotate.stories.export import document_metadata

from . import writer
from .base import QUOTE_LABEL, ExportRow, SpanOut, Writer

_DUMP = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def _dumps_wide(d: dict) -> bytes:
    """The rare row orjson refuses: an integer past 64 bits, as PostgreSQL's jsonb stores a number
    such as 1e300 from an importer's `meta`. The standard library writes any integer, in the same
    compact, sorted, UTF-8 form."""
    return (json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _suggestion(s: SpanOut, text: str) -> dict:
    return {"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end], "origin": s.origin,
            "model_name": s.model_name, "model_version": s.model_version, "attrs": s.attrs}


def row_to_dict(row: ExportRow, *, with_split: bool) -> dict[str, Any]:
    text = row.text
    entities, quotes = [], []
    for s in row.spans:  # one pass for both layers (ExportRow.entities / .quotes)
        if s.label == QUOTE_LABEL:
            a = s.attrs
            sp = a.get("speaker_span")
            speaker_span = ({"start": int(sp["start"]), "end": int(sp["end"])}
                            if isinstance(sp, dict) and "start" in sp and "end" in sp else None)
            quotes.append({"start": s.start, "end": s.end, "text": text[s.start:s.end], "kind": a.get("kind"),
                           "speaker": a.get("speaker"), "speaker_span": speaker_span, "origin": s.origin})
        else:
            entities.append({"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                             "origin": s.origin})
    out = {
        "id": row.id,
        "title": row.title,
        "source": row.source,
        "url": row.url,
        "published": _iso(row.published),
        "meta": row.meta,
        "text": text,
        "entities": entities,
        "quotes": quotes,
        "spans_from": row.spans_from,
        "suggestions": None if row.suggestions is None else [_suggestion(s, text) for s in row.suggestions],
        "annotations": [
            {"annotator": a.annotator, "stance": a.stance, "frames": a.frames or None, "primary_frame": a.primary_frame,
             "notes": a.notes,
             "spans": [{"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                        "origin": s.origin, "attrs": s.attrs} for s in a.spans],
             "submitted": a.submitted,
             "submitted_at": _iso(a.submitted_at), "suggestions_shown": a.suggestions_shown,
             "suggestion_model_version": a.suggestion_model_version}
            for a in row.annotations
        ],
        "gold": row.gold,
    }
    if row.predictions_asked:  # the model's own layer, beside (never inside) the human labels
        out["predictions"] = row.predictions
    out.update(document_metadata(row))
    if with_split:
        out["split"] = row.split
    return out


@writer("jsonl.v1")
class JsonlWriter(Writer):
    extension = "jsonl"
    media_type = "application/jsonl"
    handles_split = True

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.with_split = ctx.options.get("split") is not None

    def write(self, row: ExportRow, doc: Any = None) -> None:
        counts = self.ctx.counts
        d = row_to_dict(row, with_split=self.with_split)
        counts["entities"] += len(d["entities"])
        counts["quotes"] += len(d["quotes"])
        try:
            self.out.write(orjson.dumps(d, option=_DUMP))
        except orjson.JSONEncodeError:
            self.out.write(_dumps_wide(d))
