"""`spacy.v1`: spaCy DocBin shards in a zip, ready for `spacy train`.

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

A DocBin is built in memory, so the archive holds shards of at most SHARD_DOCS docs:
`corpus/part-00000.spacy`, … or `train/…`, `dev/…`, `test/…` with a split. Unzip and pass the
folder: `spacy train config.cfg --paths.train export/train --paths.dev export/dev` (spaCy reads
every `.spacy` file under a directory). Entries carry a fixed date, so the bytes are
reproducible.
"""

from __future__ import annotations

import zipfile
from typing import Any

from . import writer
from .base import ExportRow, Writer
from .tokens import align, layer_items

# ~35 KB per 3,500-character doc with these attrs: 500 docs keep a shard near 20 MB in memory.
SHARD_DOCS = 500
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
    media_type = "application/zip"
    needs_doc = True
    handles_split = True

    def __init__(self, out, ctx):
        super().__init__(out, ctx)
        self.zip = zipfile.ZipFile(out, "w")
        self.bins: dict[str, Any] = {}
        self.parts: dict[str, int] = {}

    def _flush(self, folder: str) -> None:
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
        from spacy.tokens import DocBin, Span

        counts = self.ctx.counts
        layer = self.ctx.options.get("span_layer", "entities")
        ents = align(doc, layer_items(row, "entities"), counts)
        quotes = align(doc, layer_items(row, "quotes"), counts)
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
        if row.split:
            doc.user_data["split"] = row.split
        folder = row.split or "corpus"
        docbin = self.bins.get(folder)
        if docbin is None:
            docbin = self.bins[folder] = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
        docbin.add(doc)
        if len(docbin) >= SHARD_DOCS:
            self._flush(folder)

    def close(self) -> None:
        for folder in sorted(self.bins):
            self._flush(folder)
        self.zip.close()
