"""Token lines of CoNLL-2003 and CoNLL-U built with numpy, not one Python string per token.

A token-level export writes ~600 tokens per article; at the 2,500 articles/s aimed for (issue
18) that is 1.5 million token lines per second, which per-token Python (an f-string, a list
append) cannot reach, nor numpy spending a few dozen calls on each article (the calls, not the
tokens, were most of the cost). So the writers hand over BATCH articles at a time (`_Batch`
lays their layers end to end), and a token's line is three pieces — its id (`12\t`), its form
(a slice of the text's UTF-8 bytes) and the rest of its line
(`\t_\tNOUN\tNN\tNumber=Sing\t_\t_\t_\t_\n`) — that one numpy gather copies into the
output. Ids and rests repeat across articles, so they live in a table shared by the whole
export (`_Shared`, per thread), found by a key packing process-wide ids of a token's POS, tag
and morphology with its line ending (one `searchsorted`). Only the article headers, sentence
headers, labelled tokens (their distinct rests) and the rare token that must be respelled get
strings of their own, per batch.

The output is byte for byte what the per-token writers produce (the writers keep them for the
cases handled here by falling back, and the tests compare both on the pinned corpora, one
article and a batch at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from annotate.nlp.token_layer import TokenLayer

# Bits of a shared-row key: POS id | tag id | morphology id | 2 bits of line ending.
_FIELD = 20
_LIMIT = 1 << _FIELD
# Articles aligned and rendered together by the CoNLL writers, and pieces per gather: measured
# on 3,500-character articles, 4,096 pieces per gather were the fastest (longer runs leave the
# CPU's cache). Batches were 16 articles until the spans were aligned per batch as well; then 32
# measured 5-10% faster than 16 for a 10k CoNLL-U export (alternating runs), and 64 no better.
BATCH = 32
GATHER_PIECES = 4096
# Shared rows kept before the table starts again (~60 bytes each): every article's gather
# source begins with them, so they must stay small; an English pipeline needs ~1-2 thousand.
_MAX_ROWS = 20_000


def gather(src: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> bytes:
    """The concatenation of src[offsets[k] : offsets[k] + lengths[k]] for every k.

    In runs of GATHER_PIECES pieces: the per-byte index of a whole batch would not stay in
    the CPU's cache (measured ~2x slower per byte for 64 articles at once)."""
    if len(offsets) > GATHER_PIECES:
        return b"".join([gather(src, offsets[i : i + GATHER_PIECES], lengths[i : i + GATHER_PIECES])
                         for i in range(0, len(offsets), GATHER_PIECES)])
    total = int(lengths.sum())
    if not total:
        return b""
    # int32 indices when they fit: half the memory traffic of the per-byte index
    dtype = np.int32 if total < (1 << 31) and len(src) < (1 << 31) else np.int64
    ends = np.cumsum(lengths)
    index = np.repeat((offsets - (ends - lengths)).astype(dtype), lengths)
    index += np.arange(total, dtype=dtype)
    # np.take, not src[index]: the same bytes, and its gather loop measured ~1.4x faster here
    return np.take(src, index).tobytes()


class Table:
    """Byte strings laid end to end after the text, addressed by row number."""

    def __init__(self, base: int):
        self.base = base
        self.parts: list[bytes] = []

    def add(self, value: bytes) -> int:
        self.parts.append(value)
        return len(self.parts) - 1

    def extend(self, values: list[bytes]) -> int:
        first = len(self.parts)
        self.parts.extend(values)
        return first

    def arrays(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        lengths = np.fromiter(map(len, self.parts), dtype=np.int64, count=len(self.parts))
        offsets = np.cumsum(lengths) - lengths + self.base
        return b"".join(self.parts), offsets, lengths


class _Vocab(dict):
    """Process-wide ids of the strings of one layer column (tags, POS, morphologies)."""

    def __init__(self):
        super().__init__()
        self.strings: list[str] = []

    def __missing__(self, value: str) -> int:
        got = self[value] = len(self.strings)
        self.strings.append(value)
        return got

    def ids(self, table: list[str]) -> np.ndarray:
        return np.fromiter(map(self.__getitem__, table), dtype=np.int64, count=len(table))


class _Shared:
    """Rows shared by every article of an export, kept at the head of one reusable buffer that
    each article's gather reads (its text and own rows are copied in after them).

    Rows are found by integer keys (`rows`); `make(key)` builds a missing one. The buffer's head
    is rewritten only when rows are added, which stops once the export's tag combinations have
    all been seen.
    """

    def __init__(self, make: Callable[[int], bytes]):
        self.make = make
        self.pos, self.tag, self.morph = _Vocab(), _Vocab(), _Vocab()
        self.parts: list[bytes] = []
        self.keys = np.zeros(0, dtype=np.int64)
        self.key_rows = np.zeros(0, dtype=np.int64)
        self.ids_count = 0
        self.id_rows = np.zeros(0, dtype=np.int64)
        self._layout()

    def _layout(self) -> None:
        lengths = np.fromiter(map(len, self.parts), dtype=np.int64, count=len(self.parts))
        self.lengths = lengths
        self.offsets = np.cumsum(lengths) - lengths
        head = b"".join(self.parts)
        self.size = len(head)
        self.buffer = np.empty(max(self.size + (1 << 16), 2 * self.size), dtype=np.uint8)
        self.buffer[: self.size] = np.frombuffer(head, dtype=np.uint8)

    def vocab_ids(self, *tables: list[str]) -> list[np.ndarray]:
        """Process-wide ids of these (POS, tag, morphology) tables; all starts again before an
        id would overflow its field of the keys."""
        vocabs = (self.pos, self.tag, self.morph)
        if any(len(v) + len(t) >= _LIMIT for v, t in zip(vocabs, tables, strict=False)):
            self.__init__(self.make)
            vocabs = (self.pos, self.tag, self.morph)
        return [v.ids(t) for v, t in zip(vocabs, tables, strict=False)]

    def rows(self, keys: np.ndarray) -> np.ndarray:
        """Shared row number per key."""
        if not len(keys):
            return np.zeros(0, dtype=np.int64)
        known = self.keys
        at = np.searchsorted(known, keys)
        if len(known) and at.max() < len(known) and (known[at] == keys).all():
            return self.key_rows[at]
        new = np.setdiff1d(keys, known)
        if len(self.parts) + len(new) > _MAX_ROWS:  # the rows start again, the vocabularies stay
            self.parts, self.ids_count = [], 0
            known = self.key_rows = self.id_rows = np.zeros(0, dtype=np.int64)
            new = np.unique(keys)
        first = len(self.parts)
        self.parts.extend(map(self.make, new.tolist()))
        keys_all = np.concatenate((known, new))
        rows_all = np.concatenate((self.key_rows, np.arange(first, first + len(new), dtype=np.int64)))
        order = np.argsort(keys_all, kind="stable")
        self.keys, self.key_rows = keys_all[order], rows_all[order]
        self._layout()
        return self.key_rows[np.searchsorted(self.keys, keys)]

    def ids(self, count: int) -> np.ndarray:
        """Rows of the CoNLL-U token ids `1\\t` … `count\\t`."""
        if count > self.ids_count:
            grown = max(count, 2 * self.ids_count, 256)
            first = len(self.parts)
            self.parts.extend(f"{i}\t".encode() for i in range(self.ids_count + 1, grown + 1))
            self.id_rows = np.concatenate((self.id_rows, np.arange(first, len(self.parts), dtype=np.int64)))
            self.ids_count = grown
            self._layout()
        return self.id_rows

    def source(self, raw: bytes, own: bytes) -> np.ndarray:
        """The gather source: shared rows, then the text's bytes at `self.size`, then `own`."""
        end = self.size + len(raw) + len(own)
        if end > len(self.buffer):
            grown = np.empty(2 * end, dtype=np.uint8)
            grown[: self.size] = self.buffer[: self.size]
            self.buffer = grown
        buf = self.buffer
        buf[self.size : self.size + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        if own:
            buf[self.size + len(raw) : end] = np.frombuffer(own, dtype=np.uint8)
        return buf


_MISC = ("_\n", "_\n\n", "SpaceAfter=No\n", "SpaceAfter=No\n\n")
_MASK = _LIMIT - 1


def _conllu_mid(pos: str, tag: str, morph: str) -> str:
    return f"\t_\t{pos or '_'}\t{tag or '_'}\t{morph or '_'}\t_\t_\t_\t"


class _State(threading.local):
    """The shared tables of this thread (an export runs in one thread; tests may use others)."""

    def __init__(self):
        self.conllu = _Shared(self._conllu_row)
        self.conll2003 = _Shared(self._conll2003_row)

    def _conllu_row(self, key: int) -> bytes:
        shared = self.conllu
        return (_conllu_mid(shared.pos.strings[key >> (2 + 2 * _FIELD)], shared.tag.strings[(key >> (2 + _FIELD)) & _MASK],
                            shared.morph.strings[(key >> 2) & _MASK]) + _MISC[key & 3]).encode()

    def _conll2003_row(self, key: int) -> bytes:
        tag = self.conll2003.tag.strings[key >> 1]
        return f" {tag or '_'} _ O\n{chr(10) if key & 1 else ''}".encode()


_STATE = _State()


class Sentences:
    """The kept (non-space) tokens of an article grouped in sentences, a sentence boundary that
    would cut a span removed: the numpy form of `annotate.exports.tokens.sentences`."""

    def __init__(self, layer: TokenLayer, *span_lists: list[tuple[int, int, str]]):
        n = len(layer)
        starts = layer.array("sent") == 1
        if n:
            starts[0] = True
        for spans in span_lists:
            for i, j, _ in spans:
                if j - i > 1:
                    starts[i + 1 : j] = False
        self.kept, self.position, self.first, self.last = _kept_sentences(layer.array("is_space"), starts)


def _kept_sentences(is_space: np.ndarray, starts: np.ndarray):
    """The kept (non-space) tokens, each token's position among them (valid for kept tokens
    only), and whether each kept token opens / closes a sentence: a kept token opens one when a
    sentence start lies after the previous kept token."""
    not_space = ~is_space
    kept = np.flatnonzero(not_space)
    opened = np.cumsum(starts)[kept]
    first = np.ones(len(kept), dtype=bool)
    last = np.ones(len(kept), dtype=bool)
    if len(kept) > 1:
        change = opened[1:] != opened[:-1]
        first[1:] = change
        last[:-1] = change
    return kept, np.cumsum(not_space) - 1, first, last


def _concat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


class _Batch:
    """Several articles' layers laid end to end, so that one numpy pass renders them all: per
    numpy call a 3,500-character article costs about as much as a batch of fifty (the calls,
    not the tokens, were most of a token line's cost).

    Token t of article a is `base[a] + t`; the UTF-8 texts are joined in `raw`; sentences are
    those of `Sentences` per article (an article's first token always opens one, so no
    sentence crosses two articles); `kept_start[a]` is the first kept token of article a (in
    `kept` order) and `kept_start[-1]` their count.
    """

    def __init__(self, layers: list[TokenLayer], span_lists: list[tuple[list[tuple[int, int, str]], ...]]):
        self.layers = layers
        sizes = np.fromiter(map(len, layers), dtype=np.int64, count=len(layers))
        self.base = base = np.cumsum(sizes) - sizes
        self.last_token = base + sizes - 1
        raws = [layer.utf8 for layer in layers]
        self.raw = b"".join(raws)
        raw_sizes = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
        raw_base = np.repeat(np.cumsum(raw_sizes) - raw_sizes, sizes)
        bounds = [layer.byte_bounds() for layer in layers]
        self.byte_starts = _concat([b[0] for b in bounds], np.int64) + raw_base
        self.byte_ends = _concat([b[1] for b in bounds], np.int64) + raw_base
        self.is_space = is_space = _concat([layer.array("is_space") for layer in layers], bool)
        self.has_ws = _concat([layer.array("has_ws") for layer in layers], bool)
        starts = _concat([layer.array("sent") for layer in layers], np.int8) == 1
        present = sizes > 0
        starts[base[present]] = True
        for b, spans_of_article in zip(base.tolist(), span_lists, strict=True):
            for spans in spans_of_article:
                for i, j, _ in spans:
                    if j - i > 1:
                        starts[b + i + 1 : b + j] = False
        self.kept, self.position, self.first, self.last = _kept_sentences(is_space, starts)
        self.kept_start = np.searchsorted(self.kept, np.append(base, len(is_space)))

    def vocab_ids(self, shared: _Shared, *names: str) -> list[np.ndarray]:
        """Per token, the process-wide id of its value of each column (pos, tag, morph)."""
        columns = [[layer.array(name) for layer in self.layers] for name in names]
        tables = [[t for _, table in column for t in table] for column in columns]
        ids = shared.vocab_ids(*tables) if len(names) == 3 else shared.vocab_ids([], *tables)[1:]
        sizes = np.fromiter(map(len, self.layers), dtype=np.int64, count=len(self.layers))
        out = []
        for column, flat in zip(columns, ids, strict=True):
            table_sizes = np.fromiter((len(table) for _, table in column), dtype=np.int64, count=len(column))
            table_base = np.repeat(np.cumsum(table_sizes) - table_sizes, sizes)
            out.append(flat[_concat([local for local, _ in column], np.int64) + table_base])
        return out

    def article_of(self, tokens: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.base, tokens, side="right") - 1


def _distinct_columns(table: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    """The distinct columns of a small non-negative int table, and each column's index among
    them; each column is numbered as one integer (its values in mixed radix), since numpy's
    `unique(axis=...)` sorts rows of a structured type, measured ~10x slower."""
    radix = [int(row.max()) + 1 if row.size else 1 for row in table]
    if np.prod(radix, dtype=object) >= 1 << 62:
        distinct, inverse = np.unique(table.T, axis=0, return_inverse=True)
        return distinct.tolist(), inverse.reshape(-1)
    key = np.zeros(table.shape[1], dtype=np.int64)
    for row, base in zip(table, radix, strict=True):
        key *= base
        key += row
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return table[:, first].T.tolist(), inverse.reshape(-1)


def _with_headers(offsets: np.ndarray, lengths: np.ndarray, per_token: int, at: np.ndarray,
                  h_off: np.ndarray, h_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The token pieces with each article's header piece before its first kept token."""
    at = at * per_token
    return np.insert(offsets.reshape(-1), at, h_off), np.insert(lengths.reshape(-1), at, h_len)


def conll2003_batch(items: list[tuple[bytes, TokenLayer | None, list[tuple[int, int, str]] | None]]) -> bytes:
    """Articles in order, each `(header, layer, spans)`: the header bytes then `FORM TAG _ BIO`
    per kept token, a blank line after each sentence. An item without a layer is its header
    alone (the writer's per-token path rendered it)."""
    shared = _STATE.conll2003
    layers = [layer for _, layer, _ in items if layer is not None]
    spans_of = [(spans,) for _, layer, spans in items if layer is not None]
    batch = _Batch(layers, spans_of)
    kept, last = batch.kept, batch.last
    (gtag,) = batch.vocab_ids(shared, "tag")
    suffix = shared.rows((gtag[kept] << 1) | last)
    # after the shared rows: adding some moves the text and the article's own rows in the source
    own = Table(shared.size + len(batch.raw))
    header_rows = [own.add(header) for header, _, _ in items]
    k = len(kept)
    offsets = np.empty((k, 2), dtype=np.int64)
    lengths = np.empty((k, 2), dtype=np.int64)
    offsets[:, 0] = batch.byte_starts[kept] + shared.size
    lengths[:, 0] = batch.byte_ends[kept] - batch.byte_starts[kept]
    offsets[:, 1], lengths[:, 1] = shared.offsets[suffix], shared.lengths[suffix]
    labels: dict[int, str] = {}
    for b, (spans,) in zip(batch.base.tolist(), spans_of, strict=True):
        for i, j, tag in spans:
            labels[b + i] = f"B-{tag}"
            inside = f"I-{tag}"
            for t in range(b + i + 1, b + j):
                labels[t] = inside
    labelled_at, labelled_rows = [], []
    if labels:
        ts = np.fromiter(labels, dtype=np.int64, count=len(labels))
        ts = ts[~batch.is_space[ts]]
        at = batch.position[ts]
        tags = shared.tag.strings
        for t, p, g, end in zip(ts.tolist(), at.tolist(), gtag[ts].tolist(), last[at].tolist(), strict=True):
            labelled_at.append(p)
            labelled_rows.append(own.add(f" {tags[g] or '_'} _ {labels[t]}\n{chr(10) if end else ''}".encode()))
    blob, o_off, o_len = own.arrays()
    if labelled_at:
        offsets[labelled_at, 1], lengths[labelled_at, 1] = o_off[labelled_rows], o_len[labelled_rows]
    before = np.cumsum([0] + [layer is not None for _, layer, _ in items])[:-1]
    offsets, lengths = _with_headers(offsets, lengths, 2, batch.kept_start[before], o_off[header_rows],
                                     o_len[header_rows])
    return gather(shared.source(batch.raw, blob), offsets, lengths)


def conll2003_lines(layer: TokenLayer, spans: list[tuple[int, int, str]], sents: Sentences | None = None) -> bytes | None:
    """`FORM TAG _ BIO` per kept token, a blank line after each sentence; None when a kept token
    has whitespace inside (the writer's own path respells and counts those)."""
    if layer.array("has_ws")[~layer.array("is_space")].any():
        return None
    return conll2003_batch([(b"", layer, spans)])


def conllu_batch(items: list[tuple[bytes, TokenLayer, tuple[list[tuple[int, int, str]], ...], Callable]],
                 keys: tuple[str, ...]) -> bytes:
    """Articles in order, each `(header, layer, tag layers, sentence_header)`: the header bytes,
    then per sentence `sentence_header(k, first_token, last_token)` and the ten columns per kept
    token, a blank line after each sentence; MISC as `annotate.exports.conllu` writes it."""
    shared = _STATE.conllu
    layers = [item[1] for item in items]
    batch = _Batch(layers, [item[2] for item in items])
    kept, last, base = batch.kept, batch.last, batch.base
    k = len(kept)
    gpos, gtag, gmorph = batch.vocab_ids(shared, "pos", "tag", "morph")
    spaces = _concat([layer.array("spaces") for layer in layers], bool)
    no_space_after = ~spaces
    if len(spaces) > 1:
        no_space_after[:-1] &= ~batch.is_space[1:]
    no_space_after[batch.last_token[batch.last_token >= base]] = False
    key = ((gpos[kept] << (2 + 2 * _FIELD)) | (gtag[kept] << (2 + _FIELD)) | (gmorph[kept] << 2)
           | (no_space_after[kept] << 1) | last)
    rest = shared.rows(key) if k else np.zeros(0, dtype=np.int64)
    first_sentence_token = np.flatnonzero(batch.first)
    sizes = np.diff(np.append(first_sentence_token, k))
    id_rows = shared.ids(int(sizes.max()) if len(sizes) else 0)
    ids = id_rows[np.arange(k) - np.repeat(first_sentence_token, sizes)]
    offsets = np.empty((k, 3), dtype=np.int64)
    lengths = np.empty((k, 3), dtype=np.int64)
    offsets[:, 0], lengths[:, 0] = shared.offsets[ids], shared.lengths[ids]
    offsets[:, 1] = batch.byte_starts[kept] + shared.size
    lengths[:, 1] = batch.byte_ends[kept] - batch.byte_starts[kept]
    offsets[:, 2], lengths[:, 2] = shared.offsets[rest], shared.lengths[rest]
    # after the shared rows and ids: adding some moves the text and the own rows in the source
    own = Table(shared.size + len(batch.raw))
    header_rows = [own.add(item[0]) for item in items]
    # -- sentence headers (with the first id): numbered within their article
    article = np.searchsorted(batch.kept_start, first_sentence_token, side="right") - 1
    number = np.arange(len(first_sentence_token)) - np.searchsorted(first_sentence_token, batch.kept_start[:-1])[article] + 1
    first_local = kept[first_sentence_token] - base[article]
    last_local = kept[first_sentence_token + sizes - 1] - base[article]
    sentence_rows = [own.add(items[a][3](num, f, e).encode() + b"1\t") for a, num, f, e in zip(
        article.tolist(), number.tolist(), first_local.tolist(), last_local.tolist(), strict=True)]
    # -- MISC of the labelled tokens: keys in slot order, then SpaceAfter=No. Per slot, each
    # token's label as an id (spans fill slices); the labelled tokens' distinct rests (labels,
    # spacing, line end, POS/tag/morphology) are then built once each.
    label_ids: dict[str, int] = {}
    slot_ids = np.zeros((len(keys), len(batch.is_space)), dtype=np.int64)
    for b, item in zip(base.tolist(), items, strict=True):
        for slot, (key_name, spans) in enumerate(zip(keys, item[2], strict=True)):
            row_of_slot = slot_ids[slot]
            for i, j, tag in spans:
                row_of_slot[b + i] = label_ids.setdefault(f"{key_name}=B-{tag}", len(label_ids) + 1)
                if j - i > 1:
                    row_of_slot[b + i + 1 : b + j] = label_ids.setdefault(f"{key_name}=I-{tag}", len(label_ids) + 1)
    labelled_at, labelled_rows = [], []
    if label_ids:
        ts = np.flatnonzero(slot_ids.any(axis=0) & ~batch.is_space)
        at = batch.position[ts]
        table = np.vstack([slot_ids[:, ts], no_space_after[ts], last[at], gpos[ts], gtag[ts], gmorph[ts]])
        distinct, inverse = _distinct_columns(table)
        label_strings = [""] + list(label_ids)
        pos_s, tag_s, morph_s = shared.pos.strings, shared.tag.strings, shared.morph.strings
        slots = len(keys)
        distinct_rows = []
        for values in distinct:
            got = [label_strings[v] for v in values[:slots] if v]
            nsa, end, u, x, m = values[slots:]
            if nsa:
                got.append("SpaceAfter=No")
            distinct_rows.append(own.add((_conllu_mid(pos_s[u], tag_s[x], morph_s[m]) + "|".join(got)
                                          + ("\n\n" if end else "\n")).encode()))
        labelled_at = at
        labelled_rows = np.asarray(distinct_rows, dtype=np.int64)[inverse.reshape(-1)]
    # -- forms with a tab or newline inside, shown with spaces
    respell = np.flatnonzero(batch.has_ws[kept])
    respelled_rows = []
    if len(respell):
        tokens = kept[respell]
        for t, a in zip(tokens.tolist(), batch.article_of(tokens).tolist(), strict=True):
            layer, local = layers[a], t - int(base[a])
            form = layer.text[int(layer.array("starts")[local]):int(layer.array("ends")[local])]
            respelled_rows.append(own.add(form.replace("\t", " ").replace("\n", " ").encode()))
    blob, o_off, o_len = own.arrays()
    offsets[first_sentence_token, 0], lengths[first_sentence_token, 0] = o_off[sentence_rows], o_len[sentence_rows]
    if len(labelled_at):
        offsets[labelled_at, 2], lengths[labelled_at, 2] = o_off[labelled_rows], o_len[labelled_rows]
    if respelled_rows:
        offsets[respell, 1], lengths[respell, 1] = o_off[respelled_rows], o_len[respelled_rows]
    offsets, lengths = _with_headers(offsets, lengths, 3, batch.kept_start[:-1], o_off[header_rows], o_len[header_rows])
    return gather(shared.source(batch.raw, blob), offsets, lengths)


def conllu_sentences(layer: TokenLayer, sents: Sentences | None, tags: tuple[list[tuple[int, int, str]], ...],
                     keys: tuple[str, ...], sentence_header) -> bytes:
    """One article's sentences (`conllu_batch` of one, without a header)."""
    return conllu_batch([(b"", layer, tags, sentence_header)], keys)
