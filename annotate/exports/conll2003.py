"""`conll2003.v1`: token per line, `TOKEN POS _ BIO`, one `-DOCSTART- -X- O O` per article.

The tag layer is the `span_layer` option: `entities` (default; reference spans other than
QUOTE/SPEAKER) or `quotes` (QUOTE and SPEAKER). Loads with `python -m spacy convert FILE OUT
-c ner` as one Doc per article. The tags are the people's reference spans only (gold, else the
annotators' majority; annotate.exports.rows): model/import suggestions are never written here,
whatever `include_suggestions` says, since CoNLL-2003 has no column to tell them apart. Whitespace tokens are dropped; whitespace inside a token (rare
Unicode spaces) becomes `_` so the four columns stay four (`tokens_respelled`).
"""

from __future__ import annotations

import re
from typing import Any

from . import writer
from .base import ExportRow, Writer
from .tokens import align, bio, layer_items, sentences

DOCSTART = "-DOCSTART- -X- O O\n\n"
_SPACE = re.compile(r"\s")


@writer("conll2003.v1")
class Conll2003Writer(Writer):
    extension = "conll"
    media_type = "text/plain; charset=utf-8"
    needs_doc = True

    def write(self, row: ExportRow, doc: Any = None) -> None:
        counts = self.ctx.counts
        layer = self.ctx.options.get("span_layer", "entities")
        spans = align(doc, layer_items(row, layer), counts)
        counts[f"{layer}_exported"] += len(spans)
        tags = bio(len(doc), spans)
        lines = [DOCSTART]
        for sent in sentences(doc, spans):
            for t in sent:
                tok = doc[t]
                form = tok.text
                if _SPACE.search(form):
                    form = _SPACE.sub("_", form)
                    counts["tokens_respelled"] += 1
                lines.append(f"{form} {tok.tag_ or '_'} _ {tags[t]}\n")
            lines.append("\n")
        self.out.write("".join(lines).encode("utf-8"))
