"""Token lines of CoNLL-2003 and CoNLL-U built with numpy, not one Python string per token.

A token-level export writes ~700 tokens per article; at the 1,500 articles/s of issue 18 that is
a million token lines per second, which per-token Python (an f-string, a list append) cannot
reach. So an article's output is described as pieces — a token's form (a slice of the text's
UTF-8 bytes) and the label-independent rest of its line (a row of a small table built from the
layer's tag/POS/morphology tables: `" NN _ O\\n"`) — and one numpy gather copies them into the
output. Only the few tokens that carry a label (spans), the sentence headers and the rare token
that must be respelled get strings of their own, appended to the table.

The output is byte for byte what the per-token writers produce (the writers keep them for the
cases handled here by falling back, and the tests compare both on the pinned corpora).
"""

from __future__ import annotations

import numpy as np

from annotate.nlp.token_layer import TokenLayer


def gather(src: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> bytes:
    """The concatenation of src[offsets[k] : offsets[k] + lengths[k]] for every k."""
    total = int(lengths.sum())
    if not total:
        return b""
    out_at = np.cumsum(lengths) - lengths
    index = np.repeat(offsets - out_at, lengths)
    index += np.arange(total, dtype=np.int64)
    return src[index].tobytes()


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
        self.kept = np.flatnonzero(~layer.array("is_space"))
        sentence_of = (np.cumsum(starts) - 1)[self.kept]
        k = len(self.kept)
        self.first = np.ones(k, dtype=bool)
        self.last = np.ones(k, dtype=bool)
        if k > 1:
            change = sentence_of[1:] != sentence_of[:-1]
            self.first[1:] = change
            self.last[:-1] = change
        # position of each token among the kept ones (valid for kept tokens only)
        self.position = np.cumsum(~layer.array("is_space")) - 1


def _labels(n: int, spans: list[tuple[int, int, str]], labels: dict[int, list[str]], slot: int, slots: int) -> None:
    """BIO labels of the spanned tokens only, into labels[token][slot]."""
    for i, j, tag in spans:
        for t in range(i, j):
            row = labels.get(t)
            if row is None:
                row = labels[t] = ["O"] * slots
            row[slot] = f"B-{tag}" if t == i else f"I-{tag}"


def _ids(layer: TokenLayer, column: str) -> tuple[np.ndarray, list[str]]:
    ids, table = layer.array(column)
    return ids.astype(np.int64), table


def conll2003_lines(layer: TokenLayer, spans: list[tuple[int, int, str]], sents: Sentences) -> bytes | None:
    """`FORM TAG _ BIO` per kept token, a blank line after each sentence; None when a kept token
    has whitespace inside (the writer's own path respells and counts those)."""
    kept = sents.kept
    if layer.array("has_ws")[kept].any():
        return None
    if not len(kept):
        return b""
    raw = layer.text.encode("utf-8")
    tag_ids, tag_table = _ids(layer, "tag")
    table = Table(len(raw))
    for tag in tag_table:
        table.extend(_conll2003_rows[tag])
    suffix = tag_ids[kept] * 2 + sents.last
    labels: dict[int, list[str]] = {}
    _labels(len(layer), spans, labels, 0, 1)
    position, last = sents.position, sents.last
    is_space = layer.array("is_space")
    for t, (label,) in labels.items():
        if is_space[t]:
            continue
        k = position[t]
        suffix[k] = table.add(f" {tag_table[tag_ids[t]] or '_'} _ {label}\n{chr(10) if last[k] else ''}".encode())
    blob, t_off, t_len = table.arrays()
    src = np.frombuffer(raw + blob, dtype=np.uint8)
    starts = layer.byte_offsets(layer.array("starts")[kept])
    ends = layer.byte_offsets(layer.array("ends")[kept])
    offsets = np.empty(2 * len(kept), dtype=np.int64)
    lengths = np.empty(2 * len(kept), dtype=np.int64)
    offsets[0::2], lengths[0::2] = starts, ends - starts
    offsets[1::2], lengths[1::2] = t_off[suffix], t_len[suffix]
    return gather(src, offsets, lengths)


class _Rows(dict):
    """Table rows by tag string, made once per process (a layer's tables repeat across articles)."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key: str):
        if len(self) > 100_000:
            self.clear()
        value = self[key] = self.make(key)
        return value


def _conll2003_row(tag: str) -> list[bytes]:
    line = f" {tag or '_'} _ O\n".encode()
    return [line, line + b"\n"]


_conll2003_rows = _Rows(_conll2003_row)
_upos_rows = _Rows(lambda u: f"\t_\t{u or '_'}\t".encode())
_xpos_rows = _Rows(lambda x: f"{x or '_'}\t".encode())
_feats_rows = _Rows(lambda m: f"{m or '_'}\t_\t_\t_\t".encode())

class _Ids:
    """`1\t`, `2\t`, …: CoNLL-U token ids laid end to end once, grown when a longer sentence comes."""

    def __init__(self):
        self.count = 0
        self.blob = b""
        self.offsets = self.lengths = np.zeros(0, dtype=np.int64)

    def upto(self, n: int) -> _Ids:
        if n > self.count:
            count = max(n, 2 * self.count, 256)
            parts = [f"{i}\t".encode() for i in range(1, count + 1)]
            self.lengths = np.fromiter(map(len, parts), dtype=np.int64, count=count)
            self.offsets = np.cumsum(self.lengths) - self.lengths
            self.blob = b"".join(parts)
            self.count = count
        return self


_IDS = _Ids()


def conllu_sentences(layer: TokenLayer, sents: Sentences, tags: tuple[list[tuple[int, int, str]], ...],
                     keys: tuple[str, ...], sentence_header) -> bytes:
    """The ten columns per kept token under `sentence_header(k, first_token, last_token)` per
    sentence, a blank line after each; MISC as `annotate.exports.conllu` writes it."""
    kept = sents.kept
    k = len(kept)
    if not k:
        return b""
    n = len(layer)
    raw = layer.text.encode("utf-8")
    first_sentence_token = np.flatnonzero(sents.first)
    sizes = np.diff(np.append(first_sentence_token, k))
    ids = _IDS.upto(int(sizes.max()))
    id_blob = ids.blob
    table = Table(len(raw) + len(id_blob))
    spaces, is_space = layer.array("spaces"), layer.array("is_space")
    # -- static rows: UPOS, XPOS, FEATS, the default MISC
    pos_ids, pos_table = _ids(layer, "pos")
    tag_ids, tag_table = _ids(layer, "tag")
    morph_ids, morph_table = _ids(layer, "morph")
    pos_row = table.extend(list(map(_upos_rows.__getitem__, pos_table)))
    tag_row = table.extend(list(map(_xpos_rows.__getitem__, tag_table)))
    morph_row = table.extend(list(map(_feats_rows.__getitem__, morph_table)))
    misc_row = table.extend([b"_\n", b"_\n\n", b"SpaceAfter=No\n", b"SpaceAfter=No\n\n"])
    no_space_after = ~spaces.copy()
    no_space_after[-1] = False
    if n > 1:
        no_space_after[:-1] &= ~is_space[1:]
    misc = misc_row + no_space_after[kept].astype(np.int64) * 2 + sents.last
    # -- per-article rows: sentence headers, labelled MISC, respelled forms
    header = np.full(k, -1, dtype=np.int64)
    sentence_last = np.append(first_sentence_token[1:], k) - 1
    for number, (a, b) in enumerate(zip(first_sentence_token.tolist(), sentence_last.tolist(), strict=True), start=1):
        header[a] = table.add(sentence_header(number, int(kept[a]), int(kept[b])).encode())
    # MISC of the labelled tokens: keys in slot order, then SpaceAfter=No; a span's inside
    # tokens share one string, so each distinct MISC is one table row.
    parts: dict[int, list[str]] = {}
    for key, spans in zip(keys, tags, strict=True):
        for i, j, tag in spans:
            inside = f"{key}=I-{tag}"
            for t in range(i, j):
                got = parts.get(t)
                if got is None:
                    parts[t] = [inside if t > i else f"{key}=B-{tag}"]
                else:
                    got.append(inside if t > i else f"{key}=B-{tag}")
    position, last = sents.position, sents.last
    rows: dict[str, int] = {}
    for t, got in parts.items():
        if is_space[t]:
            continue
        if no_space_after[t]:
            got.append("SpaceAfter=No")
        at = position[t]
        value = "|".join(got) + ("\n\n" if last[at] else "\n")
        row = rows.get(value)
        if row is None:
            row = rows[value] = table.add(value.encode())
        misc[at] = row
    starts = layer.byte_offsets(layer.array("starts")[kept])
    ends = layer.byte_offsets(layer.array("ends")[kept])
    form_off, form_len = starts, ends - starts
    respell = np.flatnonzero(layer.array("has_ws")[kept])
    if len(respell):
        form_off, form_len = form_off.copy(), form_len.copy()
        text = layer.text
        char_starts, char_ends = layer.array("starts"), layer.array("ends")
        dynamic = {}
        for at in respell.tolist():
            t = kept[at]
            dynamic[at] = table.add(text[char_starts[t]:char_ends[t]].replace("\t", " ").replace("\n", " ").encode())
    blob, t_off, t_len = table.arrays()
    if len(respell):
        for at, row in dynamic.items():
            form_off[at], form_len[at] = t_off[row], t_len[row]
    src = np.frombuffer(b"".join((raw, id_blob, blob)), dtype=np.uint8)
    # 7 pieces per token: sentence header (empty but at a sentence's first token), id, form,
    # UPOS, XPOS, FEATS (+ the empty HEAD/DEPREL/DEPS), MISC (+ the blank line after a sentence)
    offsets = np.empty((k, 7), dtype=np.int64)
    lengths = np.empty((k, 7), dtype=np.int64)
    has_header = header >= 0
    offsets[:, 0] = np.where(has_header, t_off[np.maximum(header, 0)], 0)
    lengths[:, 0] = np.where(has_header, t_len[np.maximum(header, 0)], 0)
    in_sentence = np.arange(k) - np.repeat(first_sentence_token, sizes)
    offsets[:, 1], lengths[:, 1] = ids.offsets[in_sentence] + len(raw), ids.lengths[in_sentence]
    offsets[:, 2], lengths[:, 2] = form_off, form_len
    for column, rows_of_tokens in ((3, pos_row + pos_ids[kept]), (4, tag_row + tag_ids[kept]),
                                   (5, morph_row + morph_ids[kept]), (6, misc)):
        offsets[:, column], lengths[:, column] = t_off[rows_of_tokens], t_len[rows_of_tokens]
    return gather(src, offsets.reshape(-1), lengths.reshape(-1))
