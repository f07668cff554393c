"""`conllu.v1`: the ten CoNLL-U columns, both span layers in MISC, document labels as comments.

Per token: FORM, LEMMA `_`, UPOS and XPOS from the pipeline (`_` without a tagger), FEATS from
the morphology (or `_`), HEAD/DEPREL/DEPS `_` (no parser is run for exports). MISC carries
`NE=B-PERSON` (the key spaCy's CoNLL-U converter reads), `Quote=B-direct` (quote kind),
`Speaker=B-SPEAKER` and `SpaceAfter=No`, in that order, `_` when none apply.

Each article opens with `# newdoc id = <id>` followed by its document labels — the gold row,
else the majority over submitted annotations: `# stance.<target> = LABEL`, `# frames = a|b`
(`|`-joined), `# primary_frame = …`, `# labels_from = adjudicated|majority|…`, and
`# split = train` when a split is requested. Each sentence has `# sent_id = <id>-<n>` and
`# text = …` (newlines and tabs shown as spaces). The file opens with `# pipeline = <key>`,
the pipeline every token of the export comes from (the conllu package reads it as metadata of
the first sentence). Tokens, tags and sentences come from the stored token layer.
"""

from __future__ import annotations

import re
from typing import Any

from annotate.nlp.token_layer import TokenLayer

from . import writer
from .base import ExportRow, Writer
from .tokens import align, bio, layer_items, sentences

_WS = re.compile(r"\s+")


def _comment_value(value: str) -> str:
    return _WS.sub(" ", str(value)).strip()


@writer("conllu.v1")
class ConlluWriter(Writer):
    extension = "conllu"
    media_type = "text/plain; charset=utf-8"
    needs_doc = True

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.started = False

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
        if row.split:
            out.append(f"# split = {row.split}\n")
        return out

    def write(self, row: ExportRow, doc: Any = None) -> None:
        counts = self.ctx.counts
        ents = align(doc, layer_items(row, "entities"), counts)
        quotes = align(doc, layer_items(row, "quote_kinds"), counts)
        speakers = align(doc, layer_items(row, "speakers"), counts)
        counts["entities_exported"] += len(ents)
        counts["quotes_exported"] += len(quotes)
        counts["speakers_exported"] += len(speakers)
        n = len(doc)
        ne, qt, sp = bio(n, ents), bio(n, quotes), bio(n, speakers)
        lines = self._doc_comments(row)
        if not self.started:
            self.started = True
            lines.insert(0, f"# pipeline = {_comment_value(self.ctx.pipeline_name)}\n")
        self.out.write(self._sentences(row, doc, sentences(doc, ents, quotes, speakers), lines,
                                       ne, qt, sp).encode("utf-8"))

    def _sentences(self, row: ExportRow, doc: TokenLayer, sents: list[list[int]], lines: list[str],
                   ne: list[str], qt: list[str], sp: list[str]) -> str:
        """The article's sentences: `# sent_id`, `# text`, then the ten columns per token.

        Built column-wise (one string per token, MISC only where a label or SpaceAfter=No
        applies): a token costs a few list operations, not a dozen attribute lookups."""
        cols = doc.conllu_columns()
        spaces, is_space = doc.spaces, doc.is_space
        starts, ends, text = doc.starts, doc.ends, doc.text
        n = len(doc)
        misc = ["_" if spaces[t] or t + 1 >= n or is_space[t + 1] else "SpaceAfter=No" for t in range(n)]
        labelled = {t for tags in (ne, qt, sp) for t, tag in enumerate(tags) if tag != "O"}
        for t in labelled:
            parts = []
            if ne[t] != "O":
                parts.append(f"NE={ne[t]}")
            if qt[t] != "O":
                parts.append(f"Quote={qt[t]}")
            if sp[t] != "O":
                parts.append(f"Speaker={sp[t]}")
            if misc[t] != "_":
                parts.append(misc[t])
            misc[t] = "|".join(parts)
        doc_id = _comment_value(row.id)
        for k, sent in enumerate(sents, start=1):
            lines.append(f"# sent_id = {doc_id}-{k}\n# text = {_comment_value(text[starts[sent[0]]:ends[sent[-1]]])}\n")
            lines.extend([f"{i}{cols[t]}{misc[t]}\n" for i, t in enumerate(sent, start=1)])
            lines.append("\n")
        return "".join(lines)
