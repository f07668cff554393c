"""The token layer: what the token-level exports need from spaCy, computed once and stored.

Per article: token boundaries (code-point offsets) and trailing whitespace, sentence starts,
and the tags the pipeline produced (fine tag, POS, morphology, lemma), computed on one text
(its sha256) by one pipeline (`pipeline_key`). Pre-annotation stores it from the Doc it has
already computed (annotate.services.preannotation), the backfill (`manage.py analyse`) and an
export that meets an article without a valid layer compute it with the export pipeline
(annotate.exports.tokens). Both paths give the same layer: same tokenizer, the same
`sp_graphemes` merge first, the tagger on the same tok2vec, and the sentences of the same
sentence predictor (the pipeline's `senter`, else a default `sentencizer`) run on the tokens
alone — never the parser's, so the sentences match the exports of before the layer.

Encoding (LAYER_FORMAT): MAGIC, format byte, CRC-32 and length of the payload, then the
zlib-compressed payload: a JSON header (token count, string tables for tag/POS/morph and
for the lemmas that are neither the form nor its lower case) followed by one column per
attribute (lengths uint32, flags uint8 = trailing space | sentence start | is-space | has-whitespace, tag uint16, POS uint8, morph uint16, lemma uint32).
About 0.8× the text's UTF-8 bytes on the Wikinews fixtures. Decoding checks everything it
can (checksum, sizes, table indices, that the tokens tile the text exactly): a layer that
fails any check is reported invalid, never used.
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import orjson

from annotate.models import text_hash

# Bump when the analysis (tokenizer additions, sentence rule) or the encoding changes: stored
# layers of another format are then invalid and re-analysed.
LAYER_FORMAT = "tokens.v1"
MAGIC = b"SPTL"
_FORMAT_BYTE = 1
_HEAD = struct.Struct("<4sBII")  # magic, format, crc32(payload), len(payload)
_BIG_ENDIAN = sys.byteorder == "big"
RULES_KEY = "blank_en"
_WS_CHAR = re.compile(r"\s")


class LayerInvalid(ValueError):
    """A stored layer that cannot be trusted; `reason` is the count key (layer_corrupt, …)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def pipeline_key(name: str, version: str, trained: bool) -> str:
    """`en_core_web_sm@3.8.0/tokens.v1`: the pipeline and the layer format, stored with each layer."""
    base = f"{name}@{version}" if trained else RULES_KEY
    return f"{base}/{LAYER_FORMAT}"


@dataclass(slots=True)
class TokenLayer:
    """Tokens of one text as parallel lists (index i = token i, as in a spaCy Doc)."""

    text: str
    starts: list[int]
    ends: list[int]
    spaces: list[bool]
    # raw SENT_START per token as spaCy stores it: 1 starts a sentence, -1 does not, 0 unset
    sent_starts: list[int]
    tags: list[str]
    pos: list[str]
    morphs: list[str]
    lemmas_: list[str] | None = None
    # (codes, extra table) until the lemmas are asked for: no writer reads them today
    _lemma_codes: tuple | None = field(default=None, repr=False)
    _forms: list[str] | None = field(default=None, repr=False)
    _is_space: list[bool] | None = field(default=None, repr=False)
    _has_ws: list[bool] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def forms(self) -> list[str]:
        if self._forms is None:
            text = self.text
            self._forms = [text[a:b] for a, b in zip(self.starts, self.ends, strict=True)]
        return self._forms

    @property
    def lemmas(self) -> list[str]:
        if self.lemmas_ is None:
            codes, extra = self._lemma_codes
            self.lemmas_ = [f if k == 0 else f.lower() if k == 1 else extra[k - 2]
                            for f, k in zip(self.forms, codes, strict=True)]
        return self.lemmas_

    @property
    def is_space(self) -> list[bool]:
        if self._is_space is None:
            self._is_space = [f.isspace() for f in self.forms]
        return self._is_space

    def conllu_columns(self) -> list[str]:
        """Per token, CoNLL-U columns 2-9 between tabs: `\tFORM\t_\tUPOS\tXPOS\tFEATS\t_\t_\t_\t`."""
        return [
            f"\t{f.replace(chr(9), ' ').replace(chr(10), ' ') if ws else f}\t_\t{u or '_'}\t{x or '_'}\t{m or '_'}\t_\t_\t_\t"
            for f, u, x, m, ws in zip(self.forms, self.pos, self.tags, self.morphs, self.has_whitespace, strict=True)
        ]

    @property
    def has_whitespace(self) -> list[bool]:
        """Per token: its form contains a whitespace character (all-space tokens included)."""
        if self._has_ws is None:
            self._has_ws = [bool(_WS_CHAR.search(f)) for f in self.forms]
        return self._has_ws

    def sentence_starts(self) -> list[int]:
        """Token indices that open a sentence, as `Doc.sents` reads SENT_START (token 0 always)."""
        n = len(self.starts)
        if not n:
            return []
        return [0] + [i for i in range(1, n) if self.sent_starts[i] == 1]

    def to_doc(self, vocab):
        """A spaCy Doc with these tokens, spaces, tags and sentence starts."""
        from spacy.tokens import Doc

        has_tags = any(self.tags)
        return Doc(
            vocab, words=self.forms, spaces=self.spaces,
            tags=self.tags if has_tags else None,
            pos=self.pos if any(self.pos) else None,
            morphs=self.morphs if any(self.morphs) else None,
            sent_starts=[True if s == 1 else False if s == -1 else None for s in self.sent_starts],
        )


def sentence_predictor(nlp):
    """What decides sentences for the layer: the pipeline's `senter` if it has one, else a
    default `sentencizer` (the rule the exports used before the layer existed)."""
    if "senter" in nlp.component_names:
        return nlp.get_pipe("senter")
    from spacy.pipeline import Sentencizer

    return Sentencizer()


def predicted_sent_starts(predictor, docs) -> list[list[int]]:
    """SENT_START values the predictor would set on freshly tokenized docs (as its
    `set_annotations` does on tokens still unset), without touching the docs."""
    if not docs:
        return []
    out = []
    for doc, ids in zip(docs, predictor.predict(docs), strict=True):
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out.append([1 if v else -1 for v in ids][: len(doc)])
    return out


def layer_from_doc(doc, sent_starts: list[int] | None = None) -> TokenLayer:
    """The layer of a processed Doc; `sent_starts` overrides the Doc's own (parser) sentences."""
    if sent_starts is None:
        from spacy.attrs import SENT_START

        sent_starts = doc.to_array([SENT_START]).reshape(-1).astype("int64").tolist() if len(doc) else []
    starts, ends, spaces, tags, pos, morphs, lemmas = [], [], [], [], [], [], []
    for tok in doc:
        starts.append(tok.idx)
        ends.append(tok.idx + len(tok.text))
        spaces.append(bool(tok.whitespace_))
        tags.append(tok.tag_)
        pos.append(tok.pos_)
        morphs.append(str(tok.morph))
        lemmas.append(tok.lemma_)
    return TokenLayer(doc.text, starts, ends, spaces, list(sent_starts), tags, pos, morphs, lemmas)


def unparsed_attributes(layer: TokenLayer, nlp) -> TokenLayer:
    """POS and morphology as the export pipeline sets them, i.e. without a parse.

    The trained pipelines' attribute_ruler has patterns on DEP (13 of 179 in en_core_web_sm:
    `which`, `all`, `it`…), so a parsed Doc's POS differs from the export pipeline's. The ruler
    is re-run on the tokens and tags alone (about 1 ms per article).
    """
    if "attribute_ruler" not in nlp.pipe_names or not len(layer):
        return layer
    from spacy.tokens import Doc

    fresh = Doc(nlp.vocab, words=layer.forms, spaces=layer.spaces,
                tags=layer.tags if any(layer.tags) else None)
    fresh = nlp.get_pipe("attribute_ruler")(fresh)
    layer.pos = [t.pos_ for t in fresh]
    layer.morphs = [str(t.morph) for t in fresh]
    return layer


def _table(values: list[str]) -> tuple[list[str], list[int]]:
    index: dict[str, int] = {}
    ids = [index.setdefault(v, len(index)) for v in values]
    return list(index), ids


def _column(typecode: str, values: list[int]) -> bytes:
    arr = array(typecode, values)
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr.tobytes()


def encode(layer: TokenLayer) -> bytes:
    n = len(layer)
    tag_t, tag_i = _table(layer.tags)
    pos_t, pos_i = _table(layer.pos)
    morph_t, morph_i = _table(layer.morphs)
    if len(tag_t) > 0xFFFF or len(pos_t) > 0xFF or len(morph_t) > 0xFFFF:
        raise ValueError("too many distinct tags for the layer's columns")
    forms = layer.forms
    extra: dict[str, int] = {}
    lemma_i = []
    for form, lemma in zip(forms, layer.lemmas, strict=True):
        if lemma == form:
            lemma_i.append(0)
        elif lemma == form.lower():
            lemma_i.append(1)
        else:
            lemma_i.append(2 + extra.setdefault(lemma, len(extra)))
    header = orjson.dumps({"n": n, "tag": tag_t, "pos": pos_t, "morph": morph_t, "lemma": list(extra)})
    flags = bytes((1 if sp else 0) | ((ss + 1) << 1) | (8 if blank else 0) | (16 if ws else 0)
                  for sp, ss, blank, ws in zip(layer.spaces, layer.sent_starts, layer.is_space, layer.has_whitespace,
                                               strict=True))
    payload = b"".join([
        struct.pack("<I", len(header)), header,
        _column("I", [b - a for a, b in zip(layer.starts, layer.ends, strict=True)]), flags,
        _column("H", tag_i), bytes(pos_i), _column("H", morph_i), _column("I", lemma_i),
    ])
    return _HEAD.pack(MAGIC, _FORMAT_BYTE, zlib.crc32(payload), len(payload)) + zlib.compress(payload, 6)


def _lookup(table: list[str], ids) -> list[str]:
    if not ids:
        return []
    if len(ids) == 1:
        return [table[ids[0]]]
    return list(itemgetter(*ids)(table))


def _read(typecode: str, payload: bytes, at: int, n: int) -> tuple[array, int]:
    arr = array(typecode)
    size = arr.itemsize * n
    chunk = payload[at : at + size]
    if len(chunk) != size:
        raise LayerInvalid("layer_corrupt", "column cut short")
    arr.frombytes(chunk)
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr, at + size


def decode(data: bytes, text: str) -> TokenLayer:
    """The layer stored as `data` for `text`, or LayerInvalid. Never returns tokens that do not
    tile `text` exactly."""
    data = bytes(data)
    if len(data) < _HEAD.size:
        raise LayerInvalid("layer_corrupt", "shorter than its header")
    magic, fmt, crc, size = _HEAD.unpack_from(data)
    if magic != MAGIC or fmt != _FORMAT_BYTE:
        raise LayerInvalid("layer_corrupt", "not a token layer of this format")
    try:
        payload = zlib.decompress(data[_HEAD.size :])
    except zlib.error as exc:
        raise LayerInvalid("layer_corrupt", f"zlib: {exc}") from None
    if len(payload) != size or zlib.crc32(payload) != crc:
        raise LayerInvalid("layer_corrupt", "checksum mismatch")
    try:
        (hlen,) = struct.unpack_from("<I", payload)
        header = orjson.loads(payload[4 : 4 + hlen])
        n = int(header["n"])
        at = 4 + hlen
        lengths, at = _read("I", payload, at, n)
        flags = payload[at : at + n]
        at += n
        tag_i, at = _read("H", payload, at, n)
        pos_i = payload[at : at + n]
        at += n
        morph_i, at = _read("H", payload, at, n)
        lemma_i, at = _read("I", payload, at, n)
        if len(flags) != n or len(pos_i) != n or at != len(payload):
            raise LayerInvalid("layer_corrupt", "columns do not add up")
        tag_t, pos_t, morph_t, extra = header["tag"], header["pos"], header["morph"], header["lemma"]
        tags = _lookup(tag_t, tag_i)
        pos = _lookup(pos_t, pos_i)
        morphs = _lookup(morph_t, morph_i)
        if lemma_i and max(lemma_i) >= 2 + len(extra):
            raise LayerInvalid("layer_corrupt", "lemma index out of range")
    except LayerInvalid:
        raise
    except (KeyError, IndexError, TypeError, ValueError, struct.error) as exc:
        raise LayerInvalid("layer_corrupt", f"{type(exc).__name__}: {exc}") from None
    lens = np.frombuffer(lengths.tobytes(), dtype=np.uint32).astype(np.int64)
    fl = np.frombuffer(flags, dtype=np.uint8)
    sp = (fl & 1).astype(np.int64)
    ends_a = np.cumsum(lens + sp) - sp
    if n and (int(ends_a[-1] + sp[-1]) != len(text) or not lens.all()):
        raise LayerInvalid("layer_text_changed", "tokens do not cover the text")
    if not n and text:
        raise LayerInvalid("layer_text_changed", "no tokens for a non-empty text")
    ends = ends_a.tolist()
    starts = (ends_a - lens).tolist()
    space_at = ends_a[sp.astype(bool)].tolist()
    if space_at and set(itemgetter(*space_at)(text) if len(space_at) > 1 else text[space_at[0]]) != {" "}:
        raise LayerInvalid("layer_text_changed", "trailing space not in the text")
    spaces = sp.astype(bool).tolist()
    sent = (((fl >> 1) & 3).astype(np.int64) - 1).tolist()
    return TokenLayer(text, starts, ends, spaces, sent, tags, pos, morphs, _lemma_codes=(lemma_i, extra),
                      _is_space=((fl & 8) > 0).tolist(), _has_ws=((fl & 16) > 0).tolist())


def check_stored(*, text: str, stored_key: str, stored_hash: str, data: bytes, expected_key: str) -> TokenLayer:
    """Decode a stored layer after checking it was computed by `expected_key` on this text."""
    if stored_key != expected_key:
        raise LayerInvalid("layer_other_pipeline", f"{stored_key} is not {expected_key}")
    if stored_hash != text_hash(text):
        raise LayerInvalid("layer_text_changed", "text hash differs")
    return decode(data, text)
