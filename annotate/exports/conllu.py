"""`conllu.v1`: the ten CoNLL-U columns, both span layers in MISC, document labels as comments.

Per token: FORM, LEMMA `_`, UPOS and XPOS from the pipeline (`_` without a tagger), FEATS from
the morphology (or `_`), HEAD/DEPREL/DEPS `_` (no parser is run for exports). MISC carries
`NE=B-PERSON` (the key spaCy's CoNLL-U converter reads), `Quote=B-direct` (quote kind),
`Speaker=B-SPEAKER`, then (only with `include_suggestions`) the model/import suggestions in keys
of their own, `Suggestion=B-PERSON` (entity suggestions), `SuggestedQuote=B-direct` and
`SuggestedSpeaker=B-SPEAKER`, and
`SpaceAfter=No`, in that order, `_` when none apply. `NE`/`Quote`/`Speaker` are the people's
reference spans only (see annotate.exports.rows); a suggestion is never written as `NE`.

Each article opens with `# newdoc id = <id>` followed by its document labels — the gold row,
else the majority over submitted annotations: `# stance.<target> = LABEL`, `# frames = a|b`
(`|`-joined), `# primary_frame = …`, `# labels_from = adjudicated|majority|…`, and
`# split = train` when a split is requested. Each sentence has `# sent_id = <id>-<n>` and
`# text = …` (newlines and tabs shown as spaces). Missing stays missing: a target without a
decided stance has no `stance.` comment, undecided frames no `# frames` comment. Provenance:
`# spans_from = gold|majority|none` always, `# suggestions_from = model:NAME@VERSION|import`
(distinct sources, `|`-joined) when suggestions were asked for and the article has any.
The file opens with `# pipeline = <key>`, the pipeline every token of the export comes from (the
conllu package reads it as metadata of the first sentence). Tokens, tags and sentences come
from the stored token layer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from annotate.stories.export import metadata_comments

from . import writer
from .base import ExportRow, Writer
from .render import BATCH, conllu_batch
from .tokens import align_batch, layer_items

_WS = re.compile(r"\s+")


def _comment_value(value: str) -> str:
    value = str(value)
    # Printable text has no whitespace but the plain space (every other one is a control or
    # separator character): without a double space there is nothing to collapse, and the
    # sentence texts of an export are mostly that — the regex is the slow way round.
    if value.isprintable() and "  " not in value:
        return value.strip(" ")
    return _WS.sub(" ", value).strip()


MISC_KEYS = ("NE", "Quote", "Speaker", "Suggestion", "SuggestedQuote", "SuggestedSpeaker")


@writer("conllu.v1")
class ConlluWriter(Writer):
    extension = "conllu"
    media_type = "text/plain; charset=utf-8"
    needs_doc = True

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.pending: list[tuple] = []

    @classmethod
    def builds_in_parts(cls, ctx) -> bool:
        return True

    def opening(self) -> bytes:
        return f"# pipeline = {_comment_value(self.ctx.pipeline_name)}\n".encode()

    def _doc_comments(self, row: ExportRow) -> list[str]:
        out = [f"# newdoc id = {_comment_value(row.id)}\n"]
        labels = row.doc_labels
        if labels:
            for key, value in sorted(labels["stance"].items()):
                out.append(f"# stance.{_comment_value(key)} = {_comment_value(value)}\n")
            if labels["frames"]:
                out.append(f"# frames = {'|'.join(_comment_value(f) for f in labels['frames'])}\n")
            if labels["primary_frame"]:
                out.append(f"# primary_frame = {_comment_value(labels['primary_frame'])}\n")
            out.append(f"# labels_from = {labels['method']}\n")
        out.append(f"# spans_from = {row.spans_from}\n")
        if row.suggestions:
            sources = sorted({f"{s.origin}:{s.model_name}@{s.model_version}" if s.model_name else s.origin
                              for s in row.suggestions})
            out.append(f"# suggestions_from = {_comment_value('|'.join(sources))}\n")
        out.extend(metadata_comments(row))
        if row.split:
            out.append(f"# split = {row.split}\n")
        return out

    def write(self, row: ExportRow, doc: Any = None) -> None:
        # Aligned, headed and rendered BATCH articles at a time (annotate.exports.render), in row order.
        self.pending.append((row, doc))
        if len(self.pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        counts = self.ctx.counts
        rows = [row for row, _ in self.pending]
        docs = [doc for _, doc in self.pending]
        self.pending = []
        layers = ("entities", "quote_kinds", "speakers")
        reference = align_batch(docs, [[layer_items(row, name) for name in layers] for row in rows], counts)
        with_suggestions = [k for k, row in enumerate(rows) if row.suggestions is not None]
        suggested: dict[int, list] = {}
        if with_suggestions:
            # Aligned apart, so the reference counts stay the people's alone.
            sug_counts: Counter = Counter()
            aligned = align_batch([docs[k] for k in with_suggestions], [
                [layer_items(replace(rows[k], spans=rows[k].suggestions), name) for name in layers]
                for k in with_suggestions], sug_counts)
            for key, value in sug_counts.items():
                counts[f"suggestions_{key}"] += value
            for k, lists in zip(with_suggestions, aligned, strict=True):
                suggested[k] = lists
                counts["suggestions_exported"] += sum(map(len, lists))
        items = []
        for k, (row, doc, (ents, quotes, speakers)) in enumerate(zip(rows, docs, reference, strict=True)):
            counts["entities_exported"] += len(ents)
            counts["quotes_exported"] += len(quotes)
            counts["speakers_exported"] += len(speakers)
            sug_ents, sug_quotes, sug_speakers = suggested.get(k, ([], [], []))
            header = "".join(self._doc_comments(row)).encode("utf-8")
            if not self.opened:
                self.opened = True
                header = self.opening() + header
            tags = (ents, quotes, speakers, sug_ents, sug_quotes, sug_speakers)
            items.append((header, doc, tags, _sentence_header(_comment_value(row.id), doc)))
        self.out.write(conllu_batch(items, MISC_KEYS))

    def close(self) -> None:
        self._flush()


def _sentence_header(doc_id: str, doc) -> Callable[[int, int, int], str]:
    text = doc.text
    starts, ends = doc.array("starts"), doc.array("ends")

    def sentence_header(number: int, first: int, last: int) -> str:
        return (f"# sent_id = {doc_id}-{number}\n"
                f"# text = {_comment_value(text[int(starts[first]):int(ends[last])])}\n")

    return sentence_header
