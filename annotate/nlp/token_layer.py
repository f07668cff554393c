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
fails any check is reported invalid, never used. Decoding makes numpy columns over the
payload (no Python object per token), for all the layers of an export's fetch at once
(`decode_many`); the writers render from them (annotate.exports.render) and the per-token
lists exist only when a slow path asks for them.
"""

from __future__ import annotations

import re
import struct
import sys
import zlib
from array import array

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


class TokenLayer:
    """Tokens of one text (index i = token i, as in a spaCy Doc).

    Held as numpy columns (what the fast writers read: annotate.exports.render) with the
    per-token Python lists made only when something asks for them: a decoded layer never builds
    one string per token unless a writer's slow path needs it. Built either from lists (a
    freshly analysed Doc) or from the decoded columns (`decode`).
    """

    __slots__ = ("text", "n", "_lists", "_arrays", "_lemma_codes", "_lemmas", "_forms", "_utf8")

    def __init__(self, text: str, starts: list[int], ends: list[int], spaces: list[bool], sent_starts: list[int],
                 tags: list[str], pos: list[str], morphs: list[str], lemmas_: list[str] | None = None):
        self.text = text
        self.n = len(starts)
        # raw SENT_START per token as spaCy stores it: 1 starts a sentence, -1 does not, 0 unset
        self._lists = {"starts": list(starts), "ends": list(ends), "spaces": [bool(s) for s in spaces],
                       "sent_starts": list(sent_starts), "tags": list(tags), "pos": list(pos),
                       "morphs": list(morphs)}
        self._arrays: dict = {}
        self._lemmas = lemmas_
        self._lemma_codes = None
        self._forms = None
        self._utf8 = None

    @classmethod
    def from_columns(cls, text: str, arrays: dict, lemma_codes) -> TokenLayer:
        """A layer from decoded columns: `starts`, `ends` (int64), `spaces`, `is_space`, `has_ws`
        (bool), `sent` (int8), and `tag`/`pos`/`morph` as (ids, table)."""
        layer = cls.__new__(cls)
        layer.text = text
        layer.n = len(arrays["starts"])
        layer._lists = {}
        layer._arrays = arrays
        layer._lemmas = None
        layer._lemma_codes = lemma_codes
        layer._forms = None
        layer._utf8 = None
        return layer

    def __len__(self) -> int:
        return self.n

    # -- numpy columns -------------------------------------------------------------------
    def array(self, name: str):
        """One numpy column: starts, ends, spaces, sent, is_space, has_ws; tag/pos/morph → (ids, table)."""
        arrays = self._arrays
        if name not in arrays:
            lists = self._lists
            if name in ("starts", "ends"):
                arrays[name] = np.asarray(lists[name], dtype=np.int64)
            elif name == "spaces":
                arrays[name] = np.asarray(lists["spaces"], dtype=bool)
            elif name == "sent":
                arrays[name] = np.asarray(lists["sent_starts"], dtype=np.int8)
            elif name == "code_points":
                arrays[name] = code_points(self.text)
            elif name == "is_space":
                arrays[name] = np.asarray([f.isspace() for f in self.forms], dtype=bool)
            elif name == "has_ws":
                arrays[name] = np.asarray([bool(_WS_CHAR.search(f)) for f in self.forms], dtype=bool)
            else:
                table, ids = _table(lists[{"tag": "tags", "morph": "morphs"}.get(name, name)])
                arrays[name] = (np.asarray(ids, dtype=np.int64), table)
        return arrays[name]

    @property
    def utf8(self) -> bytes:
        """The text's UTF-8 bytes (made once)."""
        if self._utf8 is None:
            self._utf8 = self.text.encode("utf-8")
        return self._utf8

    def byte_offsets(self, chars: np.ndarray) -> np.ndarray:
        """UTF-8 byte offsets of these character offsets in the text."""
        table = self._arrays.get("char_to_byte")
        if table is None:
            table = self._arrays["char_to_byte"] = char_to_byte(self.utf8)
        return chars if table is _ASCII else table[chars]

    def byte_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """UTF-8 byte offsets of each token's start and end (decoded with the layer, else made once)."""
        arrays = self._arrays
        if "byte_starts" not in arrays:
            arrays["byte_starts"] = self.byte_offsets(self.array("starts"))
            arrays["byte_ends"] = self.byte_offsets(self.array("ends"))
        return arrays["byte_starts"], arrays["byte_ends"]

    # -- per-token lists (slow paths, tests) -----------------------------------------------
    def _list(self, name: str) -> list:
        lists = self._lists
        if name not in lists:
            if name in ("tags", "pos", "morphs"):
                ids, table = self.array({"tags": "tag", "morphs": "morph"}.get(name, name))
                lists[name] = [table[i] for i in ids.tolist()]
            else:
                lists[name] = self.array({"sent_starts": "sent"}.get(name, name)).tolist()
        return lists[name]

    starts = property(lambda self: self._list("starts"))
    ends = property(lambda self: self._list("ends"))
    spaces = property(lambda self: self._list("spaces"))
    sent_starts = property(lambda self: self._list("sent_starts"))
    tags = property(lambda self: self._list("tags"))
    is_space = property(lambda self: self._list("is_space"))
    has_whitespace = property(lambda self: self._list("has_ws"),
                              doc="Per token: its form contains a whitespace character (all-space tokens included).")

    def _set(self, name: str, column: str, values: list[str]) -> None:
        self._lists[name] = list(values)
        self._arrays.pop(column, None)

    pos = property(lambda self: self._list("pos"), lambda self, v: self._set("pos", "pos", v))
    morphs = property(lambda self: self._list("morphs"), lambda self, v: self._set("morphs", "morph", v))

    @property
    def forms(self) -> list[str]:
        if self._forms is None:
            text = self.text
            self._forms = [text[a:b] for a, b in zip(self.starts, self.ends, strict=True)]
        return self._forms

    @property
    def lemmas(self) -> list[str]:
        if self._lemmas is None:
            codes, extra = self._lemma_codes
            codes = codes.tolist() if hasattr(codes, "tolist") else codes
            self._lemmas = [f if k == 0 else f.lower() if k == 1 else extra[k - 2]
                            for f, k in zip(self.forms, codes, strict=True)]
        return self._lemmas

    def sentence_starts(self) -> list[int]:
        """Token indices that open a sentence, as `Doc.sents` reads SENT_START (token 0 always)."""
        n = self.n
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
    """The layer of a processed Doc; `sent_starts` overrides the Doc's own (parser) sentences.

    Read as numpy columns (`Doc.to_array`), each distinct tag, POS, morphology and lemma turned
    into its string once: the same values as the tokens' `tag_`, `pos_`, `str(morph)`, `lemma_`.
    """
    from spacy.attrs import IDX, LEMMA, LENGTH, MORPH, POS, SENT_START, SPACY, TAG
    from spacy.parts_of_speech import NAMES as POS_NAMES
    from spacy.tokens import MorphAnalysis

    n = len(doc)
    if not n:
        return TokenLayer(doc.text, [], [], [], list(sent_starts or []), [], [], [], [])
    table = doc.to_array([IDX, LENGTH, SPACY, TAG, POS, MORPH, LEMMA, SENT_START])
    if sent_starts is None:
        sent_starts = table[:, 7].astype("int64").tolist()
    strings, vocab = doc.vocab.strings, doc.vocab

    def named(column: int, name) -> list[str]:
        ids, inverse = np.unique(table[:, column], return_inverse=True)
        names = [name(int(i)) for i in ids]
        return [names[k] for k in inverse.reshape(-1).tolist()]

    starts = table[:, 0].astype(np.int64)
    return TokenLayer(
        doc.text, starts.tolist(), (starts + table[:, 1].astype(np.int64)).tolist(), table[:, 2].astype(bool).tolist(),
        list(sent_starts), named(3, strings.__getitem__), named(4, POS_NAMES.__getitem__),
        named(5, lambda key: str(MorphAnalysis.from_id(vocab, key))), named(6, strings.__getitem__))


def unparsed_attributes(layer: TokenLayer, nlp, parsed=None) -> TokenLayer:
    """POS and morphology as the export pipeline sets them, i.e. without a parse.

    The trained pipelines' attribute_ruler has patterns on DEP (13 of 179 in en_core_web_sm:
    `which`, `all`, `it`…), so a parsed Doc's POS differs from the export pipeline's: the ruler's
    rules are applied again to the tokens and tags alone. Where its patterns allow
    (`_ArrayRuler`), on numpy columns of the `parsed` Doc the layer came from (~1 ms per
    article); else by running the ruler on a fresh Doc (~25 ms per 500-token article, 10% of
    pre-annotation).
    """
    if "attribute_ruler" not in nlp.pipe_names or not len(layer):
        return layer
    ruler = nlp.get_pipe("attribute_ruler")
    fast = _array_ruler(ruler) if parsed is not None else None
    if fast is not None:
        layer.pos, layer.morphs = fast.apply(parsed)
        return layer
    from spacy.tokens import Doc

    fresh = ruler(Doc(nlp.vocab, words=layer.forms, spaces=layer.spaces,
                      tags=layer.tags if any(layer.tags) else None))
    layer.pos = [t.pos_ for t in fresh]
    layer.morphs = [str(t.morph) for t in fresh]
    return layer


# Pattern keys an `_ArrayRuler` reads, each the same on the parsed Doc as on a fresh Doc of its
# words and tags: lexeme attributes and the (final) tag. DEP is read as unset, as on a fresh Doc.
# Not NORM: tokenizer exceptions set it per token.
_LEXEME_KEYS = ("ORTH", "LOWER", "LENGTH", "SHAPE", "PREFIX", "SUFFIX", "IS_ALPHA", "IS_ASCII", "IS_DIGIT",
                "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT", "IS_SPACE", "IS_STOP", "IS_BRACKET", "IS_QUOTE",
                "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY", "LIKE_NUM", "LIKE_URL", "LIKE_EMAIL")
_ARRAY_KEYS = (*_LEXEME_KEYS, "TAG")
_UNSET_KEYS = ("DEP",)
_NUMBER_KEYS = frozenset(k for k in _LEXEME_KEYS if k == "LENGTH" or k.startswith(("IS_", "LIKE_")))


class _Unsupported(Exception):
    pass


class _ArrayRuler:
    """The attribute ruler's POS and morphology for a fresh Doc, computed on numpy columns.

    Replicates `AttributeRuler.__call__` on `Doc(words, spaces, tags)`: every pattern is matched
    at every start (fixed-length patterns of equality, IN and NOT_IN conditions), and the
    matches are applied in rule order, so a later rule wins on its index token, as
    `AttributeRuler.match` sorts them. Only made for rulers whose patterns stay within that
    (`_array_ruler`); a test holds it equal to the ruler on the demo and Wikinews texts.
    """

    def __init__(self, ruler):
        from spacy.attrs import IDS
        from spacy.parts_of_speech import NAMES as POS_NAMES
        from spacy.strings import get_string_id
        from spacy.tokens import MorphAnalysis

        columns: dict[str, int] = {}

        def value_id(key: str, value) -> int:
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, int) and key == "LENGTH":
                return value
            if isinstance(value, str) and key not in _NUMBER_KEYS:
                return get_string_id(value)
            raise _Unsupported(f"{key}: {value!r}")

        def condition(key: str, value) -> tuple:
            key = "ORTH" if key == "TEXT" else key
            if key not in _ARRAY_KEYS and key not in _UNSET_KEYS:
                raise _Unsupported(key)
            column = columns.setdefault(key, len(columns)) if key in _ARRAY_KEYS else None
            if isinstance(value, dict):
                if len(value) != 1 or next(iter(value)) not in ("IN", "NOT_IN", "REGEX"):
                    raise _Unsupported(f"{key}: {value!r}")
                (op, items), = value.items()
                if op == "REGEX":
                    if column is None or not isinstance(items, str) or key in _NUMBER_KEYS:
                        raise _Unsupported(f"{key}: {value!r}")
                    return column, op, re.compile(items)  # as the Matcher: search in the string value
                return column, op, np.asarray([value_id(key, v) for v in items], dtype=np.uint64)
            return column, "==", np.uint64(value_id(key, value))

        self.rules: list[tuple[list[tuple[int, int, list[tuple]]], int | None, int | None]] = []
        pos_names: list[str] = [""]
        morph_names: list[str] = [""]
        pos_index: dict[int, int] = {}
        morph_index: dict[int, int] = {}
        vocab = ruler.vocab
        for attrs, index, entry in zip(ruler.attrs, ruler.indices, ruler.patterns, strict=True):
            alternatives = []
            for alternative in entry["patterns"]:
                if not isinstance(alternative, list) or not alternative:
                    raise _Unsupported("pattern")
                length = len(alternative)
                if not -length <= index < length:
                    raise _Unsupported("index")  # the ruler raises E1001 on such a match
                specs = []
                for spec in alternative:
                    if not isinstance(spec, dict) or "OP" in spec:
                        raise _Unsupported("operator")
                    specs.append([condition(key, value) for key, value in spec.items()])
                alternatives.append((length, index % length, specs))
            pos = morph = None
            if IDS["POS"] in attrs:
                pos = pos_index.setdefault(attrs[IDS["POS"]], len(pos_names))
                if pos == len(pos_names):
                    pos_names.append(POS_NAMES[attrs[IDS["POS"]]])
            if IDS["MORPH"] in attrs:
                morph = morph_index.setdefault(attrs[IDS["MORPH"]], len(morph_names))
                if morph == len(morph_names):
                    morph_names.append(str(MorphAnalysis.from_id(vocab, attrs[IDS["MORPH"]])))
            if pos is not None or morph is not None:
                self.rules.append((alternatives, pos, morph))
        self.attr_ids = [IDS[key] for key in sorted(columns, key=columns.get)]
        self.pos_names, self.morph_names = pos_names, morph_names

    def apply(self, parsed) -> tuple[list[str], list[str]]:
        n = len(parsed)
        table = parsed.to_array(self.attr_ids).reshape(n, -1) if self.attr_ids else np.zeros((n, 0), np.uint64)
        table = table.astype(np.uint64, copy=False)
        pos = np.zeros(n, dtype=np.int32)
        morph = np.zeros(n, dtype=np.int32)
        unset = np.zeros(n, dtype=np.uint64)
        searched: dict[tuple[int, object], np.ndarray] = {}

        def search(column: int, pattern) -> np.ndarray:
            """Per token: the pattern found in the column's string (once per distinct string)."""
            key = (column, pattern)
            if key not in searched:
                ids, inverse = np.unique(table[:, column], return_inverse=True)
                strings = parsed.vocab.strings
                found = np.fromiter((bool(pattern.search(strings[int(i)])) for i in ids), dtype=bool, count=len(ids))
                searched[key] = found[inverse.reshape(-1)]
            return searched[key]

        # Most rules name a tag or word this text does not have: they are skipped on a set lookup.
        present = [set(np.unique(table[:, c]).tolist()) for c in range(table.shape[1])]
        present_unset = {0}

        def possible(specs) -> bool:
            for conditions in specs:
                for column, op, wanted in conditions:
                    seen = present[column] if column is not None else present_unset
                    if op == "==" and int(wanted) not in seen:
                        return False
                    if op == "IN" and seen.isdisjoint(wanted.tolist()):
                        return False
            return True

        for alternatives, pos_value, morph_value in self.rules:
            hit = None
            for length, index, specs in alternatives:
                starts = n - length + 1
                if starts <= 0 or not possible(specs):
                    continue
                if hit is None:
                    hit = np.zeros(n, dtype=bool)
                ok = np.ones(starts, dtype=bool)
                for offset, conditions in enumerate(specs):
                    for column, op, wanted in conditions:
                        if op == "REGEX":
                            ok &= search(column, wanted)[offset : offset + starts]
                            continue
                        values = (table[:, column] if column is not None else unset)[offset : offset + starts]
                        if op == "==":
                            ok &= values == wanted
                        elif op == "IN":
                            ok &= np.isin(values, wanted)
                        else:
                            ok &= ~np.isin(values, wanted)
                hit[index : index + starts] |= ok
            if hit is None:
                continue
            if pos_value is not None:
                pos[hit] = pos_value
            if morph_value is not None:
                morph[hit] = morph_value
        pos_names, morph_names = self.pos_names, self.morph_names
        return [pos_names[i] for i in pos.tolist()], [morph_names[i] for i in morph.tolist()]


_ARRAY_RULERS: dict[int, tuple[object, _ArrayRuler | None]] = {}


def _array_ruler(ruler) -> _ArrayRuler | None:
    """The ruler's `_ArrayRuler`, or None when its patterns need the real matcher (made once per ruler)."""
    cached = _ARRAY_RULERS.get(id(ruler))
    if cached is None or cached[0] is not ruler:
        try:
            fast = _ArrayRuler(ruler)
        except _Unsupported:
            fast = None
        cached = _ARRAY_RULERS[id(ruler)] = (ruler, fast)
    return cached[1]


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


_ASCII = np.zeros(0, dtype=np.int64)


def char_to_byte(raw: bytes) -> np.ndarray:
    """Byte offset of each character of this UTF-8 text, and its length at the end; `_ASCII`
    (offsets are the characters' own) when every character is one byte."""
    u8 = np.frombuffer(raw, dtype=np.uint8)
    if not (u8 >= 0x80).any():
        return _ASCII
    # a character starts at every byte that is not a continuation byte (0b10xxxxxx)
    return np.append(np.flatnonzero((u8 & 0xC0) != 0x80), len(raw))


def code_points(text: str) -> np.ndarray:
    """The text's code points as a numpy array (uint8 for ASCII text, else uint32)."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def decode(data: bytes, text: str) -> TokenLayer:
    """The layer stored as `data` for `text`, or LayerInvalid (`decode_many` of one)."""
    (got,) = decode_many([(data, text)])
    if isinstance(got, LayerInvalid):
        raise got
    return got


class Inflated:
    """A stored layer's payload, inflated and checked against its checksum (`inflate`), or why
    it could not be: what `_payload_columns` starts from. Export prefetch threads inflate the
    next chunk's layers (zlib lets go of the GIL) while the writer renders this one."""

    __slots__ = ("payload", "error")

    def __init__(self, payload: bytes | None, error: LayerInvalid | None):
        self.payload = payload
        self.error = error


def inflate(data: bytes | memoryview) -> Inflated:
    """The header, zlib and checksum checks of one stored layer."""
    data = bytes(data)
    if len(data) < _HEAD.size:
        return Inflated(None, LayerInvalid("layer_corrupt", "shorter than its header"))
    magic, fmt, crc, size = _HEAD.unpack_from(data)
    if magic != MAGIC or fmt != _FORMAT_BYTE:
        return Inflated(None, LayerInvalid("layer_corrupt", "not a token layer of this format"))
    try:
        payload = zlib.decompress(data[_HEAD.size :])
    except zlib.error as exc:
        return Inflated(None, LayerInvalid("layer_corrupt", f"zlib: {exc}"))
    if len(payload) != size or zlib.crc32(payload) != crc:
        return Inflated(None, LayerInvalid("layer_corrupt", "checksum mismatch"))
    return Inflated(payload, None)


def _payload_columns(data: bytes | memoryview | Inflated) -> tuple[int, list, memoryview]:
    """(token count, [tag, POS, morph, lemma tables], the payload's column bytes) of one
    stored layer (its bytes, or already `inflate`d), or LayerInvalid: the checks that need no
    numpy (header, zlib, checksum, sizes, string tables)."""
    inflated = data if isinstance(data, Inflated) else inflate(data)
    if inflated.error is not None:
        raise inflated.error
    payload = inflated.payload
    try:
        (hlen,) = struct.unpack_from("<I", payload)
        header = orjson.loads(payload[4 : 4 + hlen])
        n = int(header["n"])
        if n < 0 or 4 + hlen + 14 * n != len(payload):
            raise LayerInvalid("layer_corrupt", "columns do not add up")
        tables = [header["tag"], header["pos"], header["morph"], header["lemma"]]
        if not all(type(t) is list and set(map(type, t)) <= {str} for t in tables):
            raise LayerInvalid("layer_corrupt", "string tables are not lists of strings")
    except LayerInvalid:
        raise
    except (KeyError, IndexError, TypeError, ValueError, struct.error, orjson.JSONDecodeError) as exc:
        raise LayerInvalid("layer_corrupt", f"{type(exc).__name__}: {exc}") from None
    return n, tables, memoryview(payload)[4 + hlen :]


# Bytes per token of each column, in payload order: lengths, flags, tag, POS, morph, lemma.
_COLUMN_WIDTHS = (4, 1, 2, 1, 2, 4)
_COLUMN_TYPES = ("<u4", "u1", "<u2", "u1", "<u2", "<u4")


def _frozen(arr: np.ndarray) -> np.ndarray:
    # Every layer of a batch is a view of these: a writer changing one in place would change
    # its neighbours, so none may.
    arr.flags.writeable = False
    return arr


def decode_many(items: list[tuple[bytes, str]]) -> list[TokenLayer | LayerInvalid]:
    """Per (data, text), the layer stored as `data` for `text`, or the LayerInvalid it fails
    with. Never returns tokens that do not tile their text exactly.

    The header, checksum and tables are read per layer; the columns of all the valid ones are
    laid end to end and checked and decoded with one numpy pass for the whole list (per
    article, the numpy calls cost more than its tokens), each layer's columns being views of
    the joined ones. No per-token Python object is made."""
    out: list[TokenLayer | LayerInvalid | None] = [None] * len(items)
    good, sizes, tables, texts, columns = [], [], [], [], []
    for k, (data, text) in enumerate(items):
        try:
            n, layer_tables, cols = _payload_columns(data)
        except LayerInvalid as exc:
            out[k] = exc
            continue
        if not n:
            out[k] = (LayerInvalid("layer_text_changed", "no tokens for a non-empty text") if text else
                      _layer(text, text.encode("utf-8"), _empty_columns(), _ASCII, layer_tables))
            continue
        good.append(k)
        sizes.append(n)
        tables.append(layer_tables)
        texts.append(text)
        columns.append(cols)
    if not good:
        return out
    sizes_a = np.asarray(sizes, dtype=np.int64)
    total = int(sizes_a.sum())
    base = np.cumsum(sizes_a) - sizes_a  # first token of each layer
    article = np.repeat(np.arange(len(good)), sizes_a)
    # One gather, column-major: every layer's lengths, then every layer's flags, …
    joined = np.frombuffer(b"".join(columns), dtype=np.uint8)
    payload_base = 14 * base
    before = 0
    views = []
    for width, dtype in zip(_COLUMN_WIDTHS, _COLUMN_TYPES, strict=True):
        starts = np.repeat(payload_base + before * sizes_a - width * base, width * sizes_a)
        starts += np.arange(width * total, dtype=np.int64)
        views.append(np.take(joined, starts).view(dtype))
        before += width
    lens, fl, tag_i, pos_i, morph_i, lemma_i = views
    bad = np.zeros(len(good), dtype=bool)
    # table indices in range, per layer
    for ids, which, extra in ((tag_i, 0, 0), (pos_i, 1, 0), (morph_i, 2, 0), (lemma_i, 3, 2)):
        limits = np.asarray([len(t[which]) + extra for t in tables], dtype=np.int64)
        over = ids >= limits[article]
        if over.any():
            bad[np.unique(article[over])] = True
    corrupt = bad.copy()
    lens = lens.astype(np.int64)
    sp = (fl & 1).astype(bool)
    # the tokens tile each text: ends from the lengths and spaces, per layer
    steps = np.cumsum(lens + sp)
    before_layer = np.append(0, steps[base[1:] - 1])
    ends = steps - before_layer[article] - sp
    last = base + sizes_a - 1
    text_lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    bad |= ends[last] + sp[last] != text_lengths
    if not lens.all():
        bad[np.unique(article[lens == 0])] = True
    raws = [t.encode("utf-8") for t in texts]
    raw = b"".join(raws)
    raw_sizes = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    raw_base = np.cumsum(raw_sizes) - raw_sizes
    char_base = np.cumsum(text_lengths) - text_lengths
    ascii_text = raw_sizes == text_lengths
    to_byte = char_to_byte(raw)  # of the joined texts: valid for the layers whose ends fit their text
    fits = ~bad[article]
    starts = ends - lens
    if to_byte is _ASCII:
        byte_starts, byte_ends = starts + raw_base[article], ends + raw_base[article]
    else:
        shift = char_base[article]
        byte_starts = np.where(fits, to_byte[np.where(fits, starts + shift, 0)], 0)
        byte_ends = np.where(fits, to_byte[np.where(fits, ends + shift, 0)], 0)
    # each trailing space is a space in the text
    spaced = sp & fits
    if spaced.any():
        u8 = np.frombuffer(raw, dtype=np.uint8)
        wrong = u8[byte_ends[spaced]] != 32
        if wrong.any():
            bad[np.unique(article[spaced][wrong])] = True
    byte_starts -= raw_base[article]
    byte_ends -= raw_base[article]
    sent = (((fl >> 1) & 3).astype(np.int8) - 1)
    arrays = {"starts": starts, "ends": ends, "spaces": sp, "sent": sent, "is_space": (fl & 8) > 0,
              "has_ws": (fl & 16) > 0, "byte_starts": byte_starts, "byte_ends": byte_ends,
              "tag": tag_i, "pos": pos_i, "morph": morph_i, "lemma": lemma_i}
    for arr in arrays.values():
        _frozen(arr)
    for a, k in enumerate(good):
        if bad[a]:
            out[k] = (LayerInvalid("layer_corrupt", "table index out of range") if corrupt[a] else
                      LayerInvalid("layer_text_changed", "tokens do not cover the text"))
            continue
        lo, hi = int(base[a]), int(base[a] + sizes_a[a])
        cols = {name: arr[lo:hi] for name, arr in arrays.items()}
        # a non-ASCII text's character table is made if a writer asks (byte_offsets)
        out[k] = _layer(texts[a], raws[a], cols, _ASCII if ascii_text[a] else None, tables[a])
    return out


def _empty_columns() -> dict:
    empty = np.zeros(0, dtype=np.int64)
    return {"starts": empty, "ends": empty, "spaces": empty.astype(bool), "sent": empty.astype(np.int8),
            "is_space": empty.astype(bool), "has_ws": empty.astype(bool), "byte_starts": empty, "byte_ends": empty,
            "tag": empty.astype(np.uint16), "pos": empty.astype(np.uint8), "morph": empty.astype(np.uint16),
            "lemma": empty.astype(np.uint32)}


def _layer(text: str, raw: bytes, cols: dict, to_byte: np.ndarray | None, tables: list) -> TokenLayer:
    tag_t, pos_t, morph_t, extra = tables
    arrays = {
        "starts": cols["starts"], "ends": cols["ends"], "spaces": cols["spaces"], "sent": cols["sent"],
        "is_space": cols["is_space"], "has_ws": cols["has_ws"],
        "byte_starts": cols["byte_starts"], "byte_ends": cols["byte_ends"],
        "tag": (cols["tag"], tag_t), "pos": (cols["pos"], pos_t), "morph": (cols["morph"], morph_t),
    }
    if to_byte is not None:
        arrays["char_to_byte"] = to_byte
    layer = TokenLayer.from_columns(text, arrays, (cols["lemma"], extra))
    layer._utf8 = raw
    return layer


def check_stored_many(items: list[tuple[str, str, str, bytes]], *, expected_key: str) -> list[TokenLayer | LayerInvalid]:
    """Per (text, stored key, stored hash, data): the layer, decoded only when it was computed by
    `expected_key` on this very text, or why it is not used; the layers that pass the key and
    hash checks are decoded together (`decode_many`)."""
    out: list[TokenLayer | LayerInvalid | None] = [None] * len(items)
    todo: list[int] = []
    for k, (text, stored_key, stored_hash, _) in enumerate(items):
        if stored_key != expected_key:
            out[k] = LayerInvalid("layer_other_pipeline", f"{stored_key} is not {expected_key}")
        elif stored_hash != text_hash(text):
            out[k] = LayerInvalid("layer_text_changed", "text hash differs")
        else:
            todo.append(k)
    for k, got in zip(todo, decode_many([(items[k][3], items[k][0]) for k in todo]), strict=True):
        out[k] = got
    return out
