"""`spacy.v1`: a spaCy DocBin (`.spacy`), or DocBin shards in a zip when it would not fit one.

Built from the export pipeline's own Docs (real spacing, tags, sentence starts) — never by
converting CoNLL, which would lose the spacing. `doc.ents` is the `span_layer` (entities by
default, or QUOTE/SPEAKER); `doc.spans["entities"]` and `doc.spans["quotes"]` always carry both
layers (the people's reference spans only, see annotate.exports.rows); with
`include_suggestions`, `doc.spans["suggestions"]` holds the model/import suggestions (overlaps
kept), with `doc.spans["suggestions"].attrs` = `{"origin": [...], "model_name": [...],
"model_version": [...]}`, one entry per span in order; never in `doc.ents`.
`doc.cats` encodes the document labels (gold, else majority), and a label nobody decided is
absent (spaCy's textcat treats an absent key as missing, not as 0.0): `stance.<target>.<LABEL>`
one-hot for each target with a decided stance; `frame.<frame>` 1.0/0.0 only where frames were
decided (a Gold row with frames, or a frame with a strict majority among the annotators who
chose frames), an evenly split frame absent. `doc.user_data` has `id`, `spans_from`,
`labels_from` (the gold method, `majority`, or null) and `split` when requested.

A DocBin is built in memory. An export of at most SINGLE_FILE_DOCS articles without a split
is ONE DocBin file, `…-export-N.spacy`: `DocBin().from_disk(path)` and `spacy train
--paths.train path` read it as it is. Larger exports, and any export with a split, are a zip
(`…-export-N.spacy.zip`) of shards of at most SHARD_DOCS docs: `corpus/part-00000.spacy`, … or
`train/…`, `dev/…`, `test/…`. Unzip it and pass a folder: `spacy train config.cfg --paths.train
export/train --paths.dev export/dev` (spaCy reads every `.spacy` file under a directory).
Entries carry a fixed date, so the bytes are reproducible. Docs are built from the stored token
layer (`TokenLayer.to_doc`); `doc.user_data["pipeline"]` names the pipeline of their tokens.
"""

from __future__ import annotations

import zipfile
from typing import Any

from annotate.nlp.token_layer import TokenLayer
from annotate.stories.export import document_metadata

from . import writer
from .base import ExportRow, Writer
from .tokens import align, layer_items

# ~35 KB per 3,500-character doc with these attrs: 500 docs keep a shard near 20 MB in memory.
SHARD_DOCS = 500
# One file up to here: ~35 MB of DocBin in memory, plus its serialised copy at the end.
SINGLE_FILE_DOCS = 1000
DOCBIN_ATTRS = ["ORTH", "TAG", "POS", "MORPH", "SENT_START", "ENT_IOB", "ENT_TYPE"]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def zip_add(zf: zipfile.ZipFile, name: str, data: bytes, *, compress: bool) -> None:
    """Add an entry with fixed metadata so the same content always gives the same archive."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


@writer("spacy.v1")
class DocBinWriter(Writer):
    extension = "spacy.zip"
    media_type = "application/octet-stream"
    needs_doc = True
    handles_split = True

    @classmethod
    def extension_for(cls, ctx) -> str:
        return "spacy" if cls.single_file(ctx) else cls.extension

    @staticmethod
    def single_file(ctx) -> bool:
        return not ctx.options.get("split") and ctx.total <= SINGLE_FILE_DOCS

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.single = self.single_file(ctx)
        self.zip = None if self.single else zipfile.ZipFile(out, "w")
        self.bins: dict[str, Any] = {}
        self.parts: dict[str, int] = {}
        self.vocab = _vocab()
        # One memory zone per shard, not per doc: the lexemes of a shard are made once, and
        # the vocabulary still forgets them when the shard is written.
        self.zone = None
        self.docbin_cls = _docbin(_Packer())

    def _end_zone(self) -> None:
        if self.zone is not None:
            self.zone.__exit__(None, None, None)
            self.zone = None

    def _flush(self, folder: str) -> None:
        if self.single:
            return
        self._end_zone()
        docbin = self.bins.pop(folder, None)
        if docbin is None or not len(docbin):
            return
        part = self.parts.get(folder, 0)
        self.parts[folder] = part + 1
        zip_add(self.zip, f"{folder}/part-{part:05d}.spacy", docbin.to_bytes(), compress=False)

    def _cats(self, row: ExportRow) -> dict[str, float]:
        labels = row.doc_labels
        if not labels:
            return {}
        cats: dict[str, float] = {}
        for target, value in sorted(labels["stance"].items()):
            for label in self.ctx.stance_labels:
                cats[f"stance.{target}.{label}"] = 1.0 if label == value else 0.0
        if labels["frames"] is None:  # no frame decision: every frame missing, none 0.0
            return cats
        chosen = set(labels["frames"])
        undecided = set(labels.get("frames_undecided") or ())
        for frame in self.ctx.frames:
            if frame not in undecided:
                cats[f"frame.{frame}"] = 1.0 if frame in chosen else 0.0
        return cats

    def _suggestions(self, row: ExportRow, doc: Any) -> None:
        from spacy.tokens import Span

        spans, attrs = [], {"origin": [], "model_name": [], "model_version": []}
        for s in row.suggestions or ():
            span = doc.char_span(s.start, s.end, label=s.label, alignment_mode="expand")
            if span is None:
                self.ctx.counts["suggestions_spans_unalignable"] += 1
                continue
            spans.append(Span(doc, span.start, span.end, label=s.label))
            attrs["origin"].append(s.origin)
            attrs["model_name"].append(s.model_name)
            attrs["model_version"].append(s.model_version)
        doc.spans["suggestions"] = spans
        doc.spans["suggestions"].attrs.update(attrs)
        self.ctx.counts["suggestions_exported"] += len(spans)

    def write(self, row: ExportRow, doc: Any = None) -> None:
        if self.zone is None:
            self.zone = self.vocab.memory_zone()
            self.zone.__enter__()
        self._write(row, doc.to_doc(self.vocab), doc)

    def _new_docbin(self):
        return self.docbin_cls(attrs=DOCBIN_ATTRS, store_user_data=True)

    def _write(self, row: ExportRow, doc: Any, tokens: TokenLayer) -> None:
        from spacy.tokens import Span

        counts = self.ctx.counts
        layer = self.ctx.options.get("span_layer", "entities")
        ents = align(tokens, layer_items(row, "entities"), counts)
        quotes = align(tokens, layer_items(row, "quotes"), counts)
        chosen = ents if layer == "entities" else quotes
        doc.ents = [Span(doc, i, j, label=tag) for i, j, tag in chosen]
        doc.spans["entities"] = [Span(doc, i, j, label=tag) for i, j, tag in ents]
        doc.spans["quotes"] = [Span(doc, i, j, label=tag) for i, j, tag in quotes]
        counts[f"{layer}_exported"] += len(chosen)
        doc.cats = self._cats(row)
        if row.suggestions is not None:
            self._suggestions(row, doc)
        doc.user_data["id"] = row.id
        doc.user_data["spans_from"] = row.spans_from
        doc.user_data["labels_from"] = row.doc_labels["method"] if row.doc_labels else None
        doc.user_data["pipeline"] = self.ctx.pipeline_name
        doc.user_data.update(document_metadata(row))
        if row.split:
            doc.user_data["split"] = row.split
        folder = row.split or "corpus"
        docbin = self.bins.get(folder)
        if docbin is None:
            docbin = self.bins[folder] = self._new_docbin()
        docbin.add_layer(doc, tokens)
        if len(docbin) >= SHARD_DOCS:
            self._flush(folder)

    def close(self) -> None:
        self._end_zone()
        if self.single:
            docbin = self.bins.pop("corpus", None)
            if docbin is None:
                docbin = self._new_docbin()
            self.out.write(docbin.to_bytes())
            return
        for folder in sorted(self.bins):
            self._flush(folder)
        self.zip.close()


class _Packer:
    """One srsly msgpack Packer for the whole export: srsly builds a new one for every
    `msgpack_dumps` (DocBin.add calls it four times per doc) and each construction walks the
    whole catalogue registry, which measured at a quarter of a DocBin export."""

    def __init__(self):
        from srsly.msgpack import Packer

        self.packer = Packer(use_bin_type=True)

    def __call__(self, obj) -> bytes:
        return self.packer.pack(obj)


def _docbin(pack: _Packer):
    """A DocBin whose `add` is spaCy 3.8's with the reused packer, and the strings taken from
    the token layer's columns instead of a walk over every token's attributes."""
    import struct

    import numpy
    from spacy.attrs import SPACY
    from spacy.tokens import DocBin

    empty_groups = pack([])

    class FastDocBin(DocBin):
        def add_layer(self, doc, tokens: TokenLayer) -> None:
            array = doc.to_array(self.attrs)
            if len(array.shape) == 1:
                array = array.reshape((array.shape[0], 1))
            self.tokens.append(array)
            spaces = doc.to_array(SPACY)
            self.spaces.append(numpy.asarray(spaces.reshape((spaces.shape[0], 1)), dtype=bool))
            self.flags.append({"has_unknown_spaces": doc.has_unknown_spaces})
            strings = self.strings
            strings.update(tokens.forms)
            strings.update(tokens.tags)
            strings.update(tokens.morphs)
            strings.add("")
            strings.update(e.label_ for e in doc.ents)
            self.cats.append(doc.cats)
            if self.store_user_data:
                self.user_data.append(pack(doc.user_data))
            groups: dict[bytes, list[str]] = {}
            for key, group in doc.spans.items():
                spans = []
                for span in group:
                    strings.add(span.label_)
                    spans.append(struct.pack(">QQQllll", span.id, span.kb_id, span.label, span.start, span.end,
                                             span.start_char, span.end_char))
                groups.setdefault(pack({"name": group.name, "attrs": dict(group.attrs), "spans": spans}),
                                  []).append(key)
            self.span_groups.append(pack(groups) if groups else empty_groups)

    return FastDocBin


def _vocab():
    """A vocabulary for the docs; strings of each doc live only in its memory zone, so 50k
    articles do not grow it (DocBin keeps its own copy of the strings)."""
    import spacy

    return spacy.blank("en").vocab
