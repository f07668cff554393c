"""Issue 18 speed: the numpy writers give the bytes of the per-token writers they replaced.

Layers are built from the pinned reference tokens (demo, Wikinews, emoji/CRLF/space edge texts;
tests/fixtures/tokens/reference.json.gz), stored and decoded as an export reads them, and given
random labelled spans — spans inside sentences, across sentence breaks (the sentences are then
joined), on whitespace tokens, overlapping. The oracles are the per-token implementations of
before (the CoNLL-U one copied here from the writer of c85d60f, spaCy's own `DocBin.add` on the
Doc `TokenLayer.to_doc` builds).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import DocBin, Span

from annotate.exports.base import ExportContext
from annotate.exports.conll2003 import Conll2003Writer
from annotate.exports.conllu import MISC_KEYS
from annotate.exports.render import (
    Sentences,
    conll2003_batch,
    conll2003_lines,
    conllu_batch,
    conllu_sentences,
)
from annotate.exports.spacy_docbin import DOCBIN_ATTRS, _docbin, _Forms, _Packer
from annotate.exports.tokens import align, align_batch, bio, char_span, sentences
from annotate.nlp.token_layer import LayerInvalid, TokenLayer, decode, decode_many, encode

REFERENCE = json.loads(gzip.decompress(
    (Path(__file__).resolve().parents[2] / "fixtures/tokens/reference.json.gz").read_bytes()))
LABELS = ["PERSON", "ORG", "GPE", "QUOTE", "SPEAKER"]
DOC_ID = "a b"


def _layers() -> list[tuple[TokenLayer, TokenLayer]]:
    """(per-token lists layer, decoded numpy layer) per reference article."""
    out = []
    for art in REFERENCE["articles"]:
        starts, ends, at = [], [], 0
        for word, space in zip(art["words"], art["spaces"], strict=True):
            starts.append(at)
            ends.append(at + len(word))
            at += len(word) + space
        assert at == len(art["text"])
        lists = TokenLayer(art["text"], starts, ends, art["spaces"],
                           [1 if s else -1 for s in art["sent_starts"]], art["tags"], art["pos"], art["morphs"],
                           list(art["words"]))
        out.append((lists, decode(encode(lists), art["text"])))
    # a token with whitespace inside (a tokenizer exception could make one): CoNLL-U shows its
    # tab as a space, CoNLL-2003 respells it the per-token way
    text = "Kyiv\u00a0City and\tthe 12 500 troops ."
    words = ["Kyiv\u00a0City", "and\tthe", "12 500", "troops", "."]
    starts = [text.index(w) for w in words]
    lists = TokenLayer(text, starts, [a + len(w) for a, w in zip(starts, words, strict=True)],
                       [True, True, True, True, False], [1, -1, -1, -1, -1], ["NNP", "CC", "CD", "NNS", "."],
                       ["PROPN", "CCONJ", "NUM", "NOUN", "PUNCT"], [""] * 5, list(words))
    out.append((lists, decode(encode(lists), text)))
    return out


def _random_spans(layer: TokenLayer, rng: random.Random, count: int) -> list[tuple[int, int, str]]:
    text = layer.text
    items = []
    for _ in range(count):
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randint(1, 80))
        items.append((a, b, rng.choice(LABELS)))
    return align(layer, items, Counter())


def _old_comment_value(value: str) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def _old_conllu(layer: TokenLayer, sents: list[list[int]], tags: tuple[list[str], ...], doc_id: str) -> str:
    """CoNLL-U sentences as the per-token writer of c85d60f built them."""
    cols = [
        f"\t{f.replace(chr(9), ' ').replace(chr(10), ' ') if ws else f}\t_\t{u or '_'}\t{x or '_'}\t{m or '_'}\t_\t_\t_\t"
        for f, u, x, m, ws in zip(layer.forms, layer.pos, layer.tags, layer.morphs, layer.has_whitespace, strict=True)
    ]
    spaces, is_space, starts, ends, text, n = layer.spaces, layer.is_space, layer.starts, layer.ends, layer.text, len(layer)
    misc = ["_" if spaces[t] or t + 1 >= n or is_space[t + 1] else "SpaceAfter=No" for t in range(n)]
    for t in {t for tag_layer in tags for t, tag in enumerate(tag_layer) if tag != "O"}:
        parts = [f"{key}={tl[t]}" for key, tl in zip(MISC_KEYS, tags, strict=True) if tl[t] != "O"]
        if misc[t] != "_":
            parts.append(misc[t])
        misc[t] = "|".join(parts)
    lines = []
    for k, sent in enumerate(sents, start=1):
        lines.append(f"# sent_id = {doc_id}-{k}\n# text = {_old_comment_value(text[starts[sent[0]]:ends[sent[-1]]])}\n")
        lines.extend([f"{i}{cols[t]}{misc[t]}\n" for i, t in enumerate(sent, start=1)])
        lines.append("\n")
    return "".join(lines)


@pytest.mark.parametrize("seed", [1, 2])
def test_numpy_conll_lines_are_the_per_token_writers_bytes(seed):
    rng = random.Random(seed)
    writer = Conll2003Writer(io.BytesIO(), ExportContext(options={}))
    respelled = 0
    for lists, fast in _layers():
        n = len(lists)
        spans = _random_spans(lists, rng, rng.randint(0, 12))
        lines = conll2003_lines(fast, spans, Sentences(fast, spans))
        expected = writer._lines(lists, sentences(lists, spans), bio(n, spans)).encode()
        if any(lists.has_whitespace[t] for sent in sentences(lists, spans) for t in sent):
            assert lines is None  # the writer respells those tokens the per-token way
            respelled += 1
        else:
            assert lines == expected, lists.text[:40]
        layers = tuple(_random_spans(lists, rng, rng.randint(0, 8)) for _ in MISC_KEYS)
        layers = (spans, *layers[1:])

        def header(number, first, last, text=lists.text, starts=lists.starts, ends=lists.ends):
            return f"# sent_id = {DOC_ID}-{number}\n# text = {_old_comment_value(text[starts[first]:ends[last]])}\n"

        got = conllu_sentences(fast, Sentences(fast, *layers), layers, MISC_KEYS, header)
        old = _old_conllu(lists, sentences(lists, *layers), tuple(bio(n, s) for s in layers), DOC_ID)
        assert got.decode() == old, lists.text[:40]
    assert respelled  # the NBSP/thin-space edge text takes the per-token path


@pytest.mark.parametrize("seed", [4, 5])
def test_a_batch_of_articles_is_each_articles_bytes_in_row_order(seed):
    """The writers render 64 articles at a time: a batch (an empty article and one the
    CoNLL-2003 writer renders the per-token way among them) gives each article's header and
    lines in order, exactly as one article at a time did."""
    rng = random.Random(seed)
    writer = Conll2003Writer(io.BytesIO(), ExportContext(options={}))
    layers = _layers()
    empty = TokenLayer("", [], [], [], [], [], [], [], [])
    layers.insert(len(layers) // 2, (empty, decode(encode(empty), "")))
    rng.shuffle(layers)
    items_2003, expected_2003, items_u, expected_u = [], [], [], []
    for k, (lists, fast) in enumerate(layers):
        n = len(lists)
        spans = _random_spans(lists, rng, rng.randint(0, 12)) if n else []
        header = f"-DOCSTART- {k}\n\n".encode()
        old = writer._lines(lists, sentences(lists, spans), bio(n, spans)).encode()
        if any(lists.has_whitespace[t] for sent in sentences(lists, spans) for t in sent):
            items_2003.append((header + old, None, None))
        else:
            items_2003.append((header, fast, spans))
        expected_2003.append(header + old)
        tags = tuple(_random_spans(lists, rng, rng.randint(0, 8)) if n else [] for _ in MISC_KEYS)

        def sentence_header(number, first, last, text=lists.text, starts=lists.starts, ends=lists.ends, k=k):
            return f"# sent_id = {k}-{number}\n# text = {_old_comment_value(text[starts[first]:ends[last]])}\n"

        items_u.append((f"# newdoc id = {k}\n".encode(), fast, tags, sentence_header))
        expected_u.append(f"# newdoc id = {k}\n" + _old_conllu(lists, sentences(lists, *tags),
                                                                 tuple(bio(n, s) for s in tags), str(k)))
    assert conll2003_batch(items_2003) == b"".join(expected_2003)
    assert conllu_batch(items_u, MISC_KEYS).decode() == "".join(expected_u)


def test_docbin_rows_from_the_layer_are_spacys_own_docbin_add():
    rng = random.Random(3)
    vocab = spacy.blank("en").vocab
    pack = _Packer()
    fast_bin = _docbin(pack)(attrs=DOCBIN_ATTRS, store_user_data=True)
    slow_bin = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
    batch = []  # the first doc added alone, the rest as one batch (the writer adds 16 at a time)
    for n, (lists, fast) in enumerate(_layers()):
        ents = _random_spans(lists, rng, 6)
        quotes = _random_spans(lists, rng, 3)
        cats = {"stance.t.FAVOR": 1.0, "stance.t.AGAINST": 0.0} if n % 2 else {}
        user_data = {"id": f"doc-{n}", "spans_from": "majority", "labels_from": None, "pipeline": "p"}
        groups = [("entities", {}, ents), ("quotes", {}, quotes),
                  ("suggestions", {"origin": ["model"] * len(ents)}, ents)]
        if n == 0:
            fast_bin.add_layer(fast, ents, groups, cats, user_data)
        else:
            batch.append((fast, ents, groups, cats, user_data))
        doc = lists.to_doc(vocab)
        doc.ents = [Span(doc, i, j, label=tag) for i, j, tag in ents]
        for name, attrs, spans in groups:
            doc.spans[name] = [Span(doc, i, j, label=tag) for i, j, tag in spans]
            doc.spans[name].attrs.update(attrs)
        doc.cats = cats
        doc.user_data.update(user_data)
        slow_bin.add(doc)
    fast_bin.add_layers(batch)
    # spaCy's add also collects lemma/norm/dep strings the layer's Doc leaves empty or equal
    # to the form: the token rows, spans, cats and user data must be the same bytes.
    assert [a.tobytes() for a in fast_bin.tokens] == [a.tobytes() for a in slow_bin.tokens]
    assert [a.tobytes() for a in fast_bin.spaces] == [a.tobytes() for a in slow_bin.spaces]
    assert fast_bin.span_groups == slow_bin.span_groups
    assert fast_bin.user_data == slow_bin.user_data and fast_bin.cats == slow_bin.cats
    assert fast_bin.flags == slow_bin.flags
    assert fast_bin.strings <= slow_bin.strings
    docs = list(DocBin().from_bytes(fast_bin.to_bytes()).get_docs(vocab))
    for doc, (lists, _) in zip(docs, _layers(), strict=True):
        assert [t.text for t in doc] == lists.forms and [t.tag_ for t in doc] == lists.tags
        assert [str(t.morph) for t in doc] == lists.morphs and doc.text == lists.text


@pytest.mark.parametrize(("limit", "mix"), [(_Forms.LIMIT, _Forms.MIX), (7, _Forms.MIX),
                                            (_Forms.LIMIT, numpy.uint64(0))])
def test_docbin_shards_sharing_the_form_table_each_hold_every_form_they_use(monkeypatch, limit, mix):
    """Shards of one export share the table of short forms (and a small limit makes it start
    again mid-shard; a hash of the first 8 bytes alone makes forms that share them collide):
    each shard's DocBin still has the ORTH values and strings of the Docs spaCy would build,
    so it reads back on its own."""
    monkeypatch.setattr(_Forms, "LIMIT", limit)
    monkeypatch.setattr(_Forms, "MIX", mix)
    vocab = spacy.blank("en").vocab
    cls = _docbin(_Packer())
    pairs = _layers()
    for half in (pairs[::2], pairs[1::2], pairs):
        fast_bin = cls(attrs=DOCBIN_ATTRS, store_user_data=True)
        slow_bin = DocBin(attrs=DOCBIN_ATTRS, store_user_data=True)
        fast_bin.add_layers([(fast, [], [], {}, {}) for _, fast in half[:3]])
        for k, (lists, fast) in enumerate(half):
            if k >= 3:
                fast_bin.add_layer(fast, [], [], {}, {})
            doc = lists.to_doc(vocab)
            doc.ents = []  # as the writer's Docs: the entity layer is set, empty here
            slow_bin.add(doc)
        assert [a.tobytes() for a in fast_bin.tokens] == [a.tobytes() for a in slow_bin.tokens]
        assert {f for lists, _ in half for f in lists.forms} <= fast_bin.strings <= slow_bin.strings
        docs = list(DocBin().from_bytes(fast_bin.to_bytes()).get_docs(spacy.blank("en").vocab))
        assert [[t.text for t in doc] for doc in docs] == [lists.forms for lists, _ in half]


def _align_by_char_span(doc: TokenLayer, items, counts: Counter):
    """`align` as it was: `char_span` per item (strict, else expanded) on the per-token lists."""
    aligned = []
    for start, end, tag in items:
        span = char_span(doc, start, end)
        if span is None:
            span = char_span(doc, start, end, expand=True)
            if span is not None:
                counts["spans_expanded"] += 1
        if span is None:
            counts["spans_unalignable"] += 1
            continue
        i, j = span
        while i < j and doc.is_space[i]:
            i += 1
        while j > i and doc.is_space[j - 1]:
            j -= 1
        if i >= j:
            counts["spans_unalignable"] += 1
            continue
        aligned.append((i, j, tag))
    aligned.sort(key=lambda t: (t[0] - t[1], t[0], t[2]))
    taken, kept = set(), []
    for i, j, tag in aligned:
        if taken & set(range(i, j)):
            counts["spans_overlapping"] += 1
            continue
        taken |= set(range(i, j))
        kept.append((i, j, tag))
    return sorted(kept)


def test_align_places_every_span_as_char_span_does_one_at_a_time():
    """Spans on and off token boundaries, in trailing spaces, empty, reversed, past the text's
    ends, and overlapping: the same token ranges and the same counts."""
    rng = random.Random(5)
    empty = decode(encode(TokenLayer("", [], [], [], [], [], [], [], [])), "")
    docs, lists_per_doc, expected_all = [], [], []
    batch_expected_counts = Counter()
    for lists, fast in _layers():
        size = len(lists.text)
        items = [(a, b, rng.choice(LABELS)) for a, b in
                 [(rng.randrange(-3, size + 3), rng.randrange(-3, size + 3)) for _ in range(60)]
                 + [(a, a + rng.randint(0, 40)) for a in (rng.randrange(max(size, 1)) for _ in range(60))]
                 + [(s, e) for s, e in zip(lists.starts[:20], lists.ends[:20], strict=True)]
                 + [(0, 1), (size - 1, size), (size, size + 1), (size + 1, size + 2), (-2, 1)]]
        expected_counts, got_counts = Counter(), Counter()
        expected = _align_by_char_span(lists, items, expected_counts)
        assert align(fast, items, got_counts) == expected
        assert got_counts == expected_counts
        # and batched with the other articles (writers align 16 at a time), two lists each
        halves = [items[::2], items[1::2]]
        docs.append(fast)
        lists_per_doc.append(halves)
        expected_all.append([_align_by_char_span(lists, half, batch_expected_counts) for half in halves])
        if len(docs) == 2:  # an empty text between two others
            docs.append(empty)
            lists_per_doc.append([[(0, 1, "X"), (-1, 2, "X")]])
            expected_all.append([[]])
            batch_expected_counts["spans_unalignable"] += 2
    batch_counts = Counter()
    assert align_batch(docs, lists_per_doc, batch_counts) == expected_all
    assert batch_counts == batch_expected_counts
    counts = Counter()
    assert align(empty, [(0, 1, "X")], counts) == [] and counts == {"spans_unalignable": 1}


_COLUMNS = ("starts", "ends", "spaces", "sent", "is_space", "has_ws")


def _same_layer(a: TokenLayer, b: TokenLayer) -> None:
    assert a.text == b.text and len(a) == len(b)
    for name in _COLUMNS:
        assert a.array(name).tolist() == b.array(name).tolist(), name
    for name in ("tag", "pos", "morph"):
        assert [a.array(name)[1][i] for i in a.array(name)[0]] == [b.array(name)[1][i] for i in b.array(name)[0]]
    assert a.lemmas == b.lemmas
    assert [x.tolist() for x in a.byte_bounds()] == [x.tolist() for x in b.byte_bounds()]
    assert [x.tolist() for x in a.byte_bounds()] == [a.byte_offsets(a.array("starts")).tolist(),
                                                     a.byte_offsets(a.array("ends")).tolist()]


def test_layers_decoded_together_are_each_decoded_alone_and_a_bad_one_spoils_no_neighbour():
    """An export decodes a fetch of layers in one numpy pass: every layer comes out as when
    decoded on its own (ASCII and not, empty texts), and each bad one — truncated, corrupt, of
    another text, an index beyond its tables — is reported for itself alone."""
    good = [(encode(lists), lists.text) for lists, _ in _layers()]
    empty = TokenLayer("", [], [], [], [], [], [], [], [])
    good.insert(3, (encode(empty), ""))
    data, text = good[0]
    bad_index = bytearray(zlib.decompress(data[13:]))
    bad_index[-1] = 0xFF  # the last lemma index, far beyond the table
    bad_index = bytes(bad_index)
    head = struct.pack("<4sBII", b"SPTL", 1, zlib.crc32(bad_index), len(bad_index))
    bad = [(data[: len(data) // 2], text), (data[:-5] + bytes(5), text), (data, text[::-1] + "x"),
           (head + zlib.compress(bad_index), text), (encode(empty), "not empty")]
    items = []
    for k, item in enumerate(good):
        items.append(item)
        if k < len(bad):
            items.append(bad[k])
    got = decode_many(items)
    reasons = [g.reason for g in got if isinstance(g, LayerInvalid)]
    assert reasons == ["layer_corrupt", "layer_corrupt", "layer_text_changed", "layer_corrupt", "layer_text_changed"]
    layers = [g for g in got if not isinstance(g, LayerInvalid)]
    assert len(layers) == len(good)
    for (data, text), layer in zip(good, layers, strict=True):
        _same_layer(layer, decode(data, text))
        if len(layer):
            with pytest.raises(ValueError):
                layer.array("starts")[0] = 1  # views of the batch's columns: read-only
