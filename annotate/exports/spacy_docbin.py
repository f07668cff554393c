"""`spacy.v1`: a spaCy DocBin (`.spacy`), or DocBin shards in a zip when it would not fit one.

Built from the token layer (real spacing, tags, sentence starts) — never by converting CoNLL,
which would lose the spacing. `doc.ents` is the `span_layer` (entities by
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
Entries carry a fixed date, so the bytes are reproducible. The DocBin's rows come straight from
the stored token layer's columns (`_docbin`: no spaCy Doc is built per article), the rows spaCy's
`DocBin.add` would store for the Doc `TokenLayer.to_doc` gives; `doc.user_data["pipeline"]`
names the pipeline of their tokens.
"""

from __future__ import annotations

import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy

from annotate.nlp.token_layer import TokenLayer

from . import writer
from .base import ExportRow, Writer
from .tokens import align_batch, char_span, layer_items

# ~35 KB per 3,500-character doc with these attrs: 500 docs keep a shard near 20 MB in memory.
SHARD_DOCS = 500
# One file up to here: ~35 MB of DocBin in memory, plus its serialised copy at the end.
SINGLE_FILE_DOCS = 1000
DOCBIN_ATTRS = ["ORTH", "TAG", "POS", "MORPH", "SENT_START", "ENT_IOB", "ENT_TYPE"]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Docs aligned and turned into rows together (FastDocBin.add_layers): 32 measured 6-11% faster
# than 16 for a 10k-article DocBin (alternating runs of bench_export.py --one 10000 spacy).
ADD_BATCH = 32


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
    appends_only = False  # zipfile seeks back to write each entry's header

    @classmethod
    def extension_for(cls, ctx) -> str:
        return "spacy" if cls.single_file(ctx) else cls.extension

    @staticmethod
    def single_file(ctx) -> bool:
        return not ctx.options.get("split") and ctx.total <= SINGLE_FILE_DOCS

    part_rows = SHARD_DOCS  # a helper's chunk is one shard

    @classmethod
    def builds_in_parts(cls, ctx) -> bool:
        return not cls.single_file(ctx)  # parts are the zip's shards: one DocBin has none

    def __init__(self, out, ctx, *, single: bool | None = None):
        super().__init__(out, ctx)
        self.single = self.single_file(ctx) if single is None else single
        self.zip = None if self.single else zipfile.ZipFile(out, "w")
        self.bins: dict[str, Any] = {}
        self.waiting: dict[str, list] = {}  # per folder, the (row, tokens) not yet added (ADD_BATCH at a time)
        self.parts: dict[str, int] = {}
        self.docbin_cls = _docbin(_Packer())
        # A shard is serialised (zlib, ~60% of its cost, releases the GIL) in a helper thread
        # while the next one is built; one at a time, so at most two shards are in memory and
        # the entries keep their order.
        self.serialiser = None if self.single else ThreadPoolExecutor(1, thread_name_prefix="docbin-zlib")
        self.pending: tuple[str, Future] | None = None

    def _write_pending(self) -> None:
        if self.pending is not None:
            name, future = self.pending
            self.pending = None
            zip_add(self.zip, name, future.result(), compress=False)

    def _flush(self, folder: str) -> None:
        if self.single:
            return
        if folder in self.bins:
            self._add_waiting(folder)
        docbin = self.bins.pop(folder, None)
        if docbin is None or not len(docbin):
            return
        part = self.parts.get(folder, 0)
        self.parts[folder] = part + 1
        self._write_pending()
        self.pending = (f"{folder}/part-{part:05d}.spacy", self.serialiser.submit(docbin.to_bytes))

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

    def _suggestions(self, row: ExportRow, tokens: TokenLayer) -> tuple[list[tuple[int, int, str]], dict]:
        """The suggestions as `doc.char_span(..., alignment_mode="expand")` would place them."""
        spans, attrs = [], {"origin": [], "model_name": [], "model_version": []}
        for s in row.suggestions or ():
            found = char_span(tokens, s.start, s.end, expand=True) if s.start < s.end else None
            if found is None:
                self.ctx.counts["suggestions_spans_unalignable"] += 1
                continue
            spans.append((found[0], found[1], s.label))
            attrs["origin"].append(s.origin)
            attrs["model_name"].append(s.model_name)
            attrs["model_version"].append(s.model_version)
        self.ctx.counts["suggestions_exported"] += len(spans)
        return spans, attrs

    def _new_docbin(self):
        return self.docbin_cls(attrs=DOCBIN_ATTRS, store_user_data=True)

    def write(self, row: ExportRow, doc: Any = None) -> None:
        folder = row.split or "corpus"
        docbin = self.bins.get(folder)
        if docbin is None:
            docbin = self.bins[folder] = self._new_docbin()
        waiting = self.waiting.setdefault(folder, [])
        waiting.append((row, doc))
        if len(waiting) >= ADD_BATCH or len(docbin) + len(waiting) >= SHARD_DOCS:
            self._add_waiting(folder)
            if len(docbin) >= SHARD_DOCS:
                self._flush(folder)

    def _add_waiting(self, folder: str) -> None:
        """Align and add the folder's waiting docs, ADD_BATCH at a time (one numpy pass each)."""
        waiting = self.waiting.pop(folder, None)
        if not waiting:
            return
        counts = self.ctx.counts
        layer = self.ctx.options.get("span_layer", "entities")
        aligned = align_batch([tokens for _, tokens in waiting],
                              [[layer_items(row, "entities"), layer_items(row, "quotes")] for row, _ in waiting], counts)
        items = []
        for (row, tokens), (ents, quotes) in zip(waiting, aligned, strict=True):
            chosen = ents if layer == "entities" else quotes
            counts[f"{layer}_exported"] += len(chosen)
            groups = [("entities", {}, ents), ("quotes", {}, quotes)]
            if row.suggestions is not None:
                spans, attrs = self._suggestions(row, tokens)
                groups.append(("suggestions", attrs, spans))
            # Per-document header: what the Doc carries besides its tokens (user_data, cats).
            user_data = {"id": row.id, "spans_from": row.spans_from,
                         "labels_from": row.doc_labels["method"] if row.doc_labels else None,
                         "pipeline": self.ctx.pipeline_name,
                         # Stories: `labels_from` already names where the document labels come from
                         # (gold/majority), so the article they were copied from has its own key.
                         "story": row.story, "duplicate_group": row.duplicate_group,
                         "labels_copied_from": row.labels_from}
            if row.split:
                user_data["split"] = row.split
            items.append((tokens, chosen, groups, self._cats(row), user_data))
        self.bins[folder].add_layers(items)

    @classmethod
    def part_writer(cls, out, ctx):
        # A helper's chunk is one shard: its DocBin's bytes, the zip being the parent's.
        return cls(out, ctx, single=True)

    def end_part(self) -> None:
        if "corpus" in self.bins:  # a chunk without rows has no shard
            self.close()

    def add_part(self, part: bytes) -> None:
        if part:
            number = self.parts.get("corpus", 0)
            self.parts["corpus"] = number + 1
            zip_add(self.zip, f"corpus/part-{number:05d}.spacy", part, compress=False)

    def close(self) -> None:
        if self.single:
            if "corpus" in self.bins:
                self._add_waiting("corpus")
            docbin = self.bins.pop("corpus", None)
            if docbin is None:
                docbin = self._new_docbin()
            self.out.write(docbin.to_bytes())
            return
        try:
            for folder in sorted(self.bins):
                self._flush(folder)
            self._write_pending()
        finally:
            self.serialiser.shutdown(wait=True)
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
    """A DocBin filled from token layers directly: the rows `add(doc)` would append for the Doc
    `TokenLayer.to_doc` builds with these ents and span groups, computed with numpy from the
    layer's columns — no spaCy Doc per article (building one cost ~2 ms of a 3,500-character
    article). `to_bytes` is spaCy's own, so the file is a plain DocBin."""
    import struct

    import numpy
    from spacy.tokens import DocBin

    empty_groups = pack([])
    values = _AttributeValues()

    class FastDocBin(DocBin):
        def add_layer(self, tokens: TokenLayer, ents: list[tuple[int, int, str]],
                      groups: list[tuple[str, dict, list[tuple[int, int, str]]]], cats: dict, user_data: dict) -> None:
            self.add_layers([(tokens, ents, groups, cats, user_data)])

        def add_layers(self, items: list[tuple[TokenLayer, list, list, dict, dict]]) -> None:
            """`add_layer` of each (tokens, ents, groups, cats, user_data), in order. The token
            rows of all of them are computed together (one numpy pass over their layers laid
            end to end: per article the numpy calls, not the tokens, were most of the cost), and
            each Doc's rows are a view of the batch's."""
            from spacy.attrs import ENT_IOB, ENT_TYPE, MORPH, ORTH, POS, SENT_START, TAG

            if not items:
                return
            layers = [item[0] for item in items]
            sizes = numpy.fromiter(map(len, layers), dtype=numpy.int64, count=len(layers))
            base = numpy.cumsum(sizes) - sizes
            total = int(sizes.sum())
            orth_column, forms = values.forms.orth_many(layers, self)
            strings = self.strings
            strings.update(forms)
            strings.add("")
            columns = {ORTH: orth_column}
            for attr, name, lookup in ((TAG, "tag", values.orth), (POS, "pos", values.pos),
                                       (MORPH, "morph", values.morph)):
                ids, tables = [], []
                offset = 0
                for layer in layers:
                    local, table = layer.array(name)
                    if attr == TAG:
                        strings.update(table)
                    elif attr == MORPH:
                        strings.update(table)
                        if not any(table):  # as Doc(morphs=None) when no token has a morphology: 0
                            table = ()
                    mapped = [lookup[t] for t in table] or [0]
                    tables.append(mapped)
                    ids.append(local.astype(numpy.int64) + offset if len(table) else numpy.full(len(layer), offset, dtype=numpy.int64))
                    offset += len(mapped)
                flat = numpy.asarray([v for mapped in tables for v in mapped], dtype=numpy.uint64)
                columns[attr] = flat[numpy.concatenate(ids)] if total else numpy.zeros(0, dtype=numpy.uint64)
            columns[SENT_START] = numpy.concatenate([layer.array("sent") for layer in layers]).astype(
                numpy.int64).astype(numpy.uint64)
            iob = numpy.full(total, 2, dtype=numpy.uint64)  # doc.ents set: every other token is O
            ent_type = numpy.zeros(total, dtype=numpy.uint64)
            for b, (_, ents, _, _, _) in zip(base.tolist(), items, strict=True):
                for i, j, label in ents:
                    iob[b + i] = 3
                    iob[b + i + 1 : b + j] = 1
                    ent_type[b + i : b + j] = values.orth[label]
                    strings.add(label)
            columns[ENT_IOB], columns[ENT_TYPE] = iob, ent_type
            array = numpy.empty((total, len(self.attrs)), dtype=numpy.uint64)
            for k, attr in enumerate(self.attrs):
                array[:, k] = columns[attr]
            spaces = numpy.concatenate([layer.array("spaces") for layer in layers]).reshape((total, 1))
            cuts = numpy.cumsum(sizes)[:-1]
            self.tokens.extend(numpy.split(array, cuts))
            self.spaces.extend(numpy.split(spaces, cuts))
            for tokens, _, groups, cats, user_data in items:
                self.flags.append({"has_unknown_spaces": False})
                self.cats.append(cats)
                if self.store_user_data:
                    self.user_data.append(pack(user_data))
                starts, ends = tokens.array("starts"), tokens.array("ends")
                packed: dict[bytes, list[str]] = {}
                for name, attrs, spans in groups:
                    rows = []
                    for i, j, label in spans:
                        strings.add(label)
                        rows.append(struct.pack(">QQQllll", 0, 0, values.orth[label], i, j, int(starts[i]),
                                                int(ends[j - 1])))
                    packed.setdefault(pack({"name": name, "attrs": attrs, "spans": rows}), []).append(name)
                self.span_groups.append(pack(packed) if packed else empty_groups)

    return FastDocBin


class _Cache(dict):
    def __init__(self, compute, limit: int = 500_000):
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key):
        if len(self) >= self.limit:  # bounded: a long export of varied text must not grow it forever
            self.clear()
        value = self[key] = self.compute(key)
        return value


class _Forms:
    """ORTH values of token forms without one Python string per token.

    A form of at most 15 UTF-8 bytes is two ints: `lo`, its first 8 bytes (little-endian),
    and `hi`, the next 7 with the byte count in the top byte. Most tokens are that short; they
    are found with numpy in a table of the forms already met, sorted by a hash of the two ints
    (each entry with an id numbering `forms` and `orth`, and its two ints, compared too, so a
    hash never stands for another form), so a Python string is made once per distinct short
    form in the export. Longer forms, and the rare short one whose hash another form took,
    are sliced from the text one by one.
    """

    SHORT = 15
    LOW = numpy.array([(1 << (8 * min(k, 8))) - 1 for k in range(SHORT + 1)], dtype=numpy.uint64)
    HIGH = numpy.array([(1 << (8 * max(k - 8, 0))) - 1 for k in range(SHORT + 1)], dtype=numpy.uint64)
    MIX = numpy.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it mixes hi's bits into the hash
    LIMIT = 500_000  # bounded, as the other caches: a long export of varied text must not grow it forever

    def __init__(self, orth: _Cache):
        self.orth_of = orth
        self._reset()

    def _reset(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1
        self.keys = numpy.zeros(0, dtype=numpy.uint64)  # sorted hashes
        self.key_ids = numpy.zeros(0, dtype=numpy.int64)
        self.lo = numpy.zeros(0, dtype=numpy.uint64)  # per id
        self.hi = numpy.zeros(0, dtype=numpy.uint64)
        self.strings: list[str] = []
        self.values = numpy.zeros(0, dtype=numpy.uint64)

    def _find(self, keys: numpy.ndarray, lo: numpy.ndarray, hi: numpy.ndarray) -> numpy.ndarray:
        """Per form, its id, or -1 when the table lacks it."""
        known = self.keys
        if not len(known):
            return numpy.full(len(keys), -1, dtype=numpy.int64)
        at = numpy.minimum(numpy.searchsorted(known, keys), len(known) - 1)
        ids = self.key_ids[at]
        same = (known[at] == keys) & (self.lo[ids] == lo) & (self.hi[ids] == hi)
        return numpy.where(same, ids, -1)

    def _ids(self, keys: numpy.ndarray, lo: numpy.ndarray, hi: numpy.ndarray) -> numpy.ndarray:
        ids = self._find(keys, lo, hi)
        if (ids >= 0).all():
            return ids
        if len(self.strings) + len(keys) > self.LIMIT:
            self._reset()
            ids = self._find(keys, lo, hi)
        # new forms: one per hash not yet in the table (a hash the table or another new form
        # already holds for other bytes stays out, and its forms take the slow path)
        new = numpy.flatnonzero(ids < 0)
        fresh_keys, first = numpy.unique(keys[new], return_index=True)
        taken = numpy.isin(fresh_keys, self.keys)
        fresh_keys, first = fresh_keys[~taken], new[first[~taken]]
        if len(first):
            start = len(self.strings)
            for k_lo, k_hi in zip(lo[first].tolist(), hi[first].tolist(), strict=True):
                size = k_hi >> 56
                raw = k_lo.to_bytes(8, "little") + (k_hi & 0xFF_FFFF_FFFF_FFFF).to_bytes(7, "little")
                self.strings.append(raw[:size].decode("utf-8"))
            self.values = numpy.concatenate((self.values, numpy.fromiter(
                map(self.orth_of.__getitem__, self.strings[start:]), dtype=numpy.uint64, count=len(first))))
            self.lo = numpy.concatenate((self.lo, lo[first]))
            self.hi = numpy.concatenate((self.hi, hi[first]))
            keys_all = numpy.concatenate((self.keys, fresh_keys))
            ids_all = numpy.concatenate((self.key_ids, numpy.arange(start, start + len(first), dtype=numpy.int64)))
            order = numpy.argsort(keys_all, kind="stable")
            self.keys, self.key_ids = keys_all[order], ids_all[order]
        return self._find(keys, lo, hi)

    def orth_many(self, layers: list[TokenLayer], docbin) -> tuple[numpy.ndarray, list[str]]:
        """The ORTH column of these layers' tokens laid end to end, and their forms the DocBin's
        strings lack (or more), in one pass."""
        raws = [layer.utf8 for layer in layers]
        raw_sizes = numpy.fromiter(map(len, raws), dtype=numpy.int64, count=len(raws))
        sizes = numpy.fromiter(map(len, layers), dtype=numpy.int64, count=len(layers))
        shift = numpy.repeat(numpy.cumsum(raw_sizes) - raw_sizes, sizes)
        bounds = [layer.byte_bounds() for layer in layers]
        byte_starts = numpy.concatenate([b[0] for b in bounds]).astype(numpy.int64) + shift
        byte_ends = numpy.concatenate([b[1] for b in bounds]).astype(numpy.int64) + shift
        n = len(byte_starts)
        if not n:
            return numpy.zeros(0, dtype=numpy.uint64), []
        sizes = byte_ends - byte_starts
        short = numpy.flatnonzero(sizes <= self.SHORT)
        # every 8-byte window of the text as a little-endian integer (a strided view, no copy
        # per token): a short form's two ints are its windows at its first and ninth byte,
        # masked to its length, with the length in hi's top byte
        raw = b"".join(raws) + bytes(16)
        windows = numpy.ndarray(len(raw) - 7, dtype="<u8", buffer=raw, strides=(1,))
        short_starts, short_sizes = byte_starts[short], sizes[short]
        lo = windows[short_starts] & self.LOW[short_sizes]
        hi = (windows[short_starts + 8] & self.HIGH[short_sizes]) | (short_sizes.astype(numpy.uint64) << 56)
        ids = self._ids(lo ^ (hi * self.MIX), lo, hi)
        found = ids >= 0
        every = len(short) == n and bool(found.all())  # the common case: no form takes the slow path
        if every:
            column = self.values[ids]
        else:
            column = numpy.zeros(n, dtype=numpy.uint64)
            column[short[found]] = self.values[ids[found]]
        # the forms already in this DocBin's strings are not added again (it is a set: the
        # same contents either way, and `to_bytes` sorts them)
        seen = docbin.__dict__.get("_seen_forms")
        if seen is None or seen[0] != self.generation:
            seen = docbin._seen_forms = (self.generation, numpy.zeros(len(self.strings) + 4096, dtype=bool))
        flags = seen[1]
        if len(flags) < len(self.strings):
            flags = numpy.concatenate((flags, numpy.zeros(len(self.strings) + 4096 - len(flags), dtype=bool)))
            docbin._seen_forms = (self.generation, flags)
        ids = ids if every else ids[found]
        fresh = ids[~flags[ids]]
        forms = []
        if len(fresh):  # once the export's words have all been seen, seldom
            fresh = numpy.unique(fresh)
            flags[fresh] = True
            strings = self.strings
            forms = [strings[i] for i in fresh.tolist()]
        if every:
            return column, forms
        slow = numpy.ones(n, dtype=bool)
        slow[short[found]] = False
        slow = numpy.flatnonzero(slow)
        if len(slow):
            # a token's bytes are its characters' (the layer's byte bounds are its character bounds)
            orth_of = self.orth_of
            slow_forms = [raw[a:b].decode("utf-8") for a, b in zip(byte_starts[slow].tolist(),
                                                                    byte_ends[slow].tolist(), strict=True)]
            column[slow] = numpy.fromiter(map(orth_of.__getitem__, slow_forms), dtype=numpy.uint64, count=len(slow))
            forms.extend(slow_forms)
        return column, forms


class _AttributeValues:
    """What `Doc.to_array` holds for a string: its hash (ORTH, TAG, labels), the POS symbol,
    the morphology key — the last two read from a one-token Doc, so they are spaCy's own."""

    def __init__(self):
        from spacy.strings import get_string_id
        from spacy.vocab import Vocab

        # A bare vocabulary: the POS symbols and morphology keys do not depend on a language,
        # and `spacy.blank("en")` spent ~0.25 s building its tokenizer's special cases.
        self.vocab = Vocab()
        self.orth = _Cache(get_string_id)
        self.pos = _Cache(self._pos, 10_000)
        self.morph = _Cache(self._morph, 100_000)
        self.forms = _Forms(self.orth)

    def _pos(self, value: str) -> int:
        from spacy.attrs import POS
        from spacy.tokens import Doc

        return int(Doc(self.vocab, words=["x"], pos=[value]).to_array(POS)[0]) if value else 0

    def _morph(self, value: str) -> int:
        from spacy.attrs import MORPH
        from spacy.tokens import Doc

        # "" beside a token that has features: the empty analysis' key, not 0
        doc = Doc(self.vocab, words=["x", "y"], morphs=[value, "Number=Sing"])
        return int(doc.to_array(MORPH)[0])
