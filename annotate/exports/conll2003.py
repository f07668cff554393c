"""`conll2003.v1`: token per line, `TOKEN POS _ BIO`, one `-DOCSTART- -X- O O` per article.

The tag layer is the `span_layer` option: `entities` (default; reference spans other than
QUOTE/SPEAKER) or `quotes` (QUOTE and SPEAKER). Loads with `python -m spacy convert FILE OUT
-c ner` as one Doc per article. The tags are the people's reference spans only (gold, else the
annotators' majority; annotate.exports.rows): model/import suggestions are never written here,
whatever `include_suggestions` says, since CoNLL-2003 has no column to tell them apart. Whitespace tokens are dropped; whitespace inside a token (rare
Unicode spaces) becomes `_` so the four columns stay four (`tokens_respelled`). Tokens, tags
and sentences come from the article's token layer (annotate.exports.tokens).
"""

from __future__ import annotations

import re
from typing import Any

from annotate.nlp.token_layer import TokenLayer
from annotate.stories.export import metadata_comments

from . import writer
from .base import ExportRow, Writer
from .render import BATCH, conll2003_batch
from .tokens import align_batch, bio, layer_items, sentences

DOCSTART = "-DOCSTART- -X- O O\n\n"
DOCSTART_BYTES = DOCSTART.encode()
_SPACE = re.compile(r"\s")


@writer("conll2003.v1")
class Conll2003Writer(Writer):
    extension = "conll"
    media_type = "text/plain; charset=utf-8"
    needs_doc = True

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.pending: list[tuple] = []

    @classmethod
    def builds_in_parts(cls, ctx) -> bool:
        return True

    def write(self, row: ExportRow, doc: Any = None) -> None:
        # Aligned and rendered BATCH articles at a time (annotate.exports.render), in row order.
        self.pending.append((row, doc))
        if len(self.pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        counts = self.ctx.counts
        layer = self.ctx.options.get("span_layer", "entities")
        pending, self.pending = self.pending, []
        aligned = align_batch([doc for _, doc in pending], [[layer_items(row, layer)] for row, _ in pending], counts)
        items = []
        for (row, doc), (spans,) in zip(pending, aligned, strict=True):
            counts[f"{layer}_exported"] += len(spans)
            # Per-document header: the place for `# …` document comments, before the tokens.
            header = DOCSTART_BYTES
            if comments := metadata_comments(row, only_grouped_split=self.ctx.options):
                header += "".join(comments).encode("utf-8")
            if doc.array("has_ws")[~doc.array("is_space")].any():
                # a token with whitespace inside: respelled and counted the slow way
                header += self._lines(doc, sentences(doc, spans), bio(len(doc), spans)).encode("utf-8")
                items.append((header, None, None))
            else:
                items.append((header, doc, spans))
        self.out.write(conll2003_batch(items))

    def close(self) -> None:
        self._flush()

    def _lines(self, doc: TokenLayer, sents: list[list[int]], tags: list[str]) -> str:
        """The article's token lines: `FORM TAG _ BIO`, a blank line after each sentence (the
        per-token form of annotate.exports.render.conll2003_lines, for tokens to respell)."""
        forms, pos_tags, has_ws = doc.forms, doc.tags, doc.has_whitespace
        if any(has_ws[t] for sent in sents for t in sent):
            forms = list(forms)
            for sent in sents:
                for t in sent:
                    if has_ws[t]:
                        forms[t] = _SPACE.sub("_", forms[t])
                        self.ctx.counts["tokens_respelled"] += 1
        lines = []
        for sent in sents:
            lines.extend([f"{forms[t]} {pos_tags[t] or '_'} _ {tags[t]}\n" for t in sent])
            lines.append("\n")
        return "".join(lines)
