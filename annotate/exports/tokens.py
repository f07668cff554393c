"""Tokens, sentences and tags for the token-level formats (CoNLL-2003, CoNLL-U, DocBin).

The writers read each article's stored token layer (annotate.nlp.token_layer, table
TokenLayerRow), written by pre-annotation or `manage.py analyse`. `token_layers` pairs every
row with its layer: a stored one when it was computed by the export's pipeline on this very
text and decodes cleanly, else one analysed here, on the fly, and counted
(`analysed_on_export`, plus the reason: `layer_missing`, `layer_other_pipeline`,
`layer_text_changed`, `layer_corrupt`). The pipeline is loaded only for those articles: an
export whose articles all have a layer loads none.

The export pipeline is the project's pipeline without the parser, NER and lemmatizer (its
`senter` is switched on instead of the parser), with `sp_graphemes` first: ~4× faster than the
full pipeline. Loaded once per process. When SPACY_MODEL cannot be loaded, `spacy.blank("en")` +
sentencizer is used, under its own pipeline key.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import orjson
from django.conf import settings

from annotate.nlp.token_layer import LayerInvalid, TokenLayer, check_stored_many, layer_from_doc, pipeline_key

from .base import MISSING, QUOTE_LABEL, SPEAKER_LABEL, ExportContext, ExportRow

logger = logging.getLogger("standpoint.exports")

# Components that give tokens, sentences and tags; everything else is excluded at load time.
KEEP = ("tok2vec", "tagger", "morphologizer", "attribute_ruler", "senter", "sentencizer")
# Excluded by name when the pipeline's meta.json cannot be read first.
HEAVY = ("parser", "ner", "lemmatizer", "trainable_lemmatizer", "entity_linker", "entity_ruler", "textcat",
         "textcat_multilabel", "spancat", "span_finder", "coref", "span_resolver")
# Docs per nlp.pipe batch. Measured on 3,500-character articles: a batch of 32 raised peak RSS
# by ~290 MB (tok2vec activations), a batch of 8 by ~70 MB, at about the same speed on CPU.
NLP_BATCH = 8


def _components(name: str) -> list[str] | None:
    import spacy.util

    try:
        path = Path(name)
        if not path.exists():
            path = spacy.util.get_package_path(name)
        meta = spacy.util.load_meta(path / "meta.json")
        return list(meta.get("components") or meta.get("pipeline") or [])
    except Exception:
        return None


@functools.cache
def export_pipeline():
    """(nlp, description) for exports; cached per process (a worker loads it once)."""
    import spacy

    from annotate.nlp import graphemes

    name = settings.SPACY_MODEL
    try:
        components = _components(name)
        exclude = [c for c in components if c not in KEEP] if components is not None else list(HEAVY)
        nlp = spacy.load(name, exclude=exclude)
        for pipe in list(nlp.pipe_names):
            if pipe not in KEEP:
                nlp.remove_pipe(pipe)
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        if not {"senter", "sentencizer", "parser"} & set(nlp.pipe_names):
            nlp.add_pipe("sentencizer")
        graphemes.add_to(nlp)
        key = pipeline_key(f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', name)}",
                           str(nlp.meta.get("version", "")), True)
        return nlp, key
    except Exception as exc:
        logger.warning("Exports cannot load SPACY_MODEL %r (%s); falling back to spacy.blank('en') + "
                       "sentencizer: no POS tags.", name, exc)
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        graphemes.add_to(nlp)
        return nlp, pipeline_key("", "", False)


def _installed_pipeline_key(name: str) -> str | None:
    """The key of an installed pipeline package read from its meta.json without importing
    spaCy (~0.6-1.2 s of a CoNLL export otherwise: neither CoNLL writer needs spaCy when the
    layers are stored); None whenever this is not plainly an installed package with a valid
    meta.json, and `describe_configured_pipeline` decides."""
    import importlib.metadata
    import importlib.util

    try:
        if Path(name).exists():
            return None
        importlib.metadata.distribution(name)  # what spacy.util.is_package asks
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            return None
        meta = orjson.loads((Path(spec.origin).parent / "meta.json").read_bytes())
        if not all(isinstance(meta, dict) and meta.get(k) for k in ("lang", "name", "version")):
            return None
        return pipeline_key(f"{meta['lang']}_{meta['name']}", str(meta["version"]), True)
    except Exception:
        return None


def expected_pipeline_key() -> str:
    """The key of the pipeline an export of now would use, read from meta.json (loads nothing)."""
    key = _installed_pipeline_key(settings.SPACY_MODEL)
    if key is not None:
        return key
    from annotate.nlp.loading import describe_configured_pipeline

    info = describe_configured_pipeline()
    return pipeline_key(info["name"] or "", str(info["version"] or ""), bool(info["trained"]))


# CPython's default gen-0 threshold (gc.get_threshold()[0] of a fresh interpreter).
DEFAULT_GC_THRESHOLD = 700


@contextlib.contextmanager
def _collector_at_default_rate():
    """spaCy Docs are cyclic garbage holding their tensors: while the pipeline runs, the
    collector runs as often as by default, even inside an export that collects 100× less often
    (annotate.services.exports), which measured +300 MB of peak memory for the same work."""
    previous = gc.get_threshold()
    gc.set_threshold(min(previous[0], DEFAULT_GC_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.collect(1)  # the last batch's Docs, before collections become rare again
        gc.set_threshold(*previous)


def analyse_texts(texts: list[str]) -> tuple[list[TokenLayer], str]:
    """Layers for these texts with the export pipeline, and its key."""
    nlp, key = export_pipeline()
    layers = []
    with _collector_at_default_rate(), nlp.memory_zone():
        for doc in nlp.pipe(texts, batch_size=NLP_BATCH):
            layers.append(layer_from_doc(doc))
    return layers, key


# Rows whose stored layers are read with one query: ~200 × 3 KB per round trip.
LAYER_FETCH = 200


def token_layers(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[tuple[ExportRow, TokenLayer]]:
    """Each row with its token layer (see the module docstring), in row order.

    `ctx.pipeline_name` must hold the expected pipeline key. Every layer of one export comes
    from that pipeline: if the pipeline that would analyse the missing ones loads as another
    (SPACY_MODEL broken since the layers were stored), the export fails rather than mix them.
    """
    from annotate.models import TokenLayerRow

    counts = ctx.counts
    counts["analysed_on_export"] += 0  # always in a token export's counts, 0 when none
    expected = ctx.pipeline_name
    batch: list[ExportRow] = []

    def flush() -> Iterator[tuple[ExportRow, TokenLayer]]:
        unread = [r.article_id for r in batch if r.stored_layer is MISSING]
        stored = {aid: rest for aid, *rest in TokenLayerRow.objects.filter(
            article_id__in=unread).values_list("article_id", "pipeline", "text_hash", "data")} if unread else {}
        for r in batch:
            if r.stored_layer is not MISSING and r.stored_layer is not None:
                stored[r.article_id] = r.stored_layer
        found = [stored.get(row.article_id) for row in batch]
        checked = iter(check_stored_many([(row.text, *got) for row, got in zip(batch, found, strict=True)
                                          if got is not None], expected_key=expected))
        out: list[TokenLayer | None] = []
        missing: list[int] = []
        for n, (row, got) in enumerate(zip(batch, found, strict=True)):
            layer = next(checked) if got is not None else LayerInvalid("layer_missing")
            if isinstance(layer, LayerInvalid):
                counts[layer.reason] += 1
                if layer.reason != "layer_missing":
                    logger.info("article %s: stored token layer not used (%s); analysing it", row.article_id, layer)
                layer = None
                missing.append(n)
            out.append(layer)
        if missing:
            layers, key = analyse_texts([batch[n].text for n in missing])
            if key != expected:
                raise RuntimeError(f"the export's pipeline is {expected} but {key} loaded "
                                   f"(SPACY_MODEL={settings.SPACY_MODEL!r}); not mixing two pipelines in one export")
            for n, layer in zip(missing, layers, strict=True):
                out[n] = layer
            counts["analysed_on_export"] += len(missing)
        for row, layer in zip(batch, out, strict=True):
            yield row, layer
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= LAYER_FETCH:
            yield from flush()
    if batch:
        yield from flush()


def layer_items(row: ExportRow, layer: str) -> list[tuple[int, int, str]]:
    """(start, end, tag) in characters for one tag layer.

    `entities`: reference spans other than QUOTE/SPEAKER, tagged with their label.
    `quotes`: QUOTE spans tagged QUOTE plus speakers (SPEAKER spans and each quote's
    `speaker_span`, de-duplicated) tagged SPEAKER.
    `quote_kinds`: QUOTE spans tagged with their kind (CoNLL-U `Quote=B-direct`).
    `speakers`: the speakers alone.
    """
    if layer == "entities":
        return [(s.start, s.end, s.label) for s in row.spans if s.label not in (QUOTE_LABEL, SPEAKER_LABEL)]
    if layer == "quote_kinds":
        return [(s.start, s.end, str(s.attrs.get("kind") or "quote")) for s in row.spans if s.label == QUOTE_LABEL]
    speakers: dict[tuple[int, int], str] = {}
    for s in row.spans:
        if s.label == SPEAKER_LABEL:
            speakers[(s.start, s.end)] = SPEAKER_LABEL
        elif s.label == QUOTE_LABEL:
            sp = s.attrs.get("speaker_span")
            if isinstance(sp, dict) and isinstance(sp.get("start"), int) and isinstance(sp.get("end"), int) \
                    and 0 <= sp["start"] < sp["end"] <= len(row.text):
                speakers[(sp["start"], sp["end"])] = SPEAKER_LABEL
    items = [(a, b, lab) for (a, b), lab in speakers.items()]
    if layer == "speakers":
        return sorted(items)
    return sorted([(s.start, s.end, QUOTE_LABEL) for s in row.spans if s.label == QUOTE_LABEL] + items)


def _token_by_char(starts: list[int], ends: list[int], spaces: list[bool], char: int) -> int:
    """spaCy's `token_by_char`: the token whose text or trailing space holds `char`, else -1."""
    i = bisect_right(starts, char) - 1
    if i < 0 or char >= ends[i] + spaces[i]:
        return -1
    return i


def char_span(doc: TokenLayer, start: int, end: int, expand: bool = False) -> tuple[int, int] | None:
    """Token range of `Doc.char_span(start, end, alignment_mode="strict"|"expand")`, same rules."""
    starts, ends, spaces = doc.starts, doc.ends, doc.spaces
    i = _token_by_char(starts, ends, spaces, start)
    if i < 0 or (not expand and start != starts[i]):
        return None
    j = _token_by_char(starts, ends, spaces, end - 1)
    if j < 0 or (not expand and end != ends[j]):
        return None
    if expand and start == ends[i]:
        i += 1
    return i, j + 1


_STRICT, _EXPANDED, _NONE = 0, 1, 2


def _char_spans(doc: TokenLayer, items: list[tuple[int, int, str]]) -> tuple[list[int], list[int], list[int]]:
    """`char_span` of every item, strict else expanded, in one numpy pass over the layer's
    columns (no per-token lists): per item i, j and whether it was strict, expanded or none."""
    count = len(items)
    if not len(doc):
        return [0] * count, [0] * count, [_NONE] * count
    starts, ends = doc.array("starts"), doc.array("ends")
    reach = ends + doc.array("spaces")  # a token holds its text and its trailing space
    chars = np.array([(a, b) for a, b, _ in items], dtype=np.int64).reshape(count, 2)
    first, last = chars[:, 0], chars[:, 1]
    i = np.searchsorted(starts, first, side="right") - 1
    j = np.searchsorted(starts, last - 1, side="right") - 1
    found = (i >= 0) & (first < reach[i]) & (j >= 0) & (last - 1 < reach[j])
    strict = found & (first == starts[i]) & (last == ends[j])
    i = np.where(strict, i, i + (first == ends[i]))  # expand: a start in a trailing space moves on
    how = np.where(strict, _STRICT, np.where(found, _EXPANDED, _NONE))
    return i.tolist(), (j + 1).tolist(), how.tolist()


def align(doc: TokenLayer, items: list[tuple[int, int, str]], counts: Counter) -> list[tuple[int, int, str]]:
    """Token ranges (i, j, tag) for character spans, sorted and non-overlapping.

    A span off token boundaries is expanded to the tokens it touches (`spans_expanded`);
    leading/trailing whitespace tokens are trimmed; a span that covers no word is counted in
    `spans_unalignable`; where spans overlap (BIO cannot nest) the longest wins and the rest are
    counted in `spans_overlapping`. Nothing disappears without a count.
    """
    return align_batch([doc], [[items]], counts)[0][0]


def align_batch(docs: list[TokenLayer], item_lists_per_doc: list[list[list[tuple[int, int, str]]]],
                counts: Counter) -> list[list[list[tuple[int, int, str]]]]:
    """`align` of each list of items of each doc (each list on its own: spans of two lists may
    overlap), with one numpy pass for the whole batch: the docs' columns laid end to end, each
    text's characters after the previous ones (per article the numpy calls, not the spans, were
    most of the cost)."""
    if not any(items for lists in item_lists_per_doc for items in lists):
        return [[[] for _ in lists] for lists in item_lists_per_doc]
    sizes = [len(doc) for doc in docs]
    token_base = np.cumsum([0, *sizes[:-1]]).tolist()
    char_base = np.cumsum([0] + [len(doc.text) + 1 for doc in docs[:-1]]).tolist()
    joined = _Joined(docs, char_base)
    # A span outside its own text must not reach a neighbour's tokens: it is placed where no
    # token is, as it would be found nowhere in its own layer.
    shifted = [(a + shift, b + shift, tag) if 0 <= a <= size and 0 <= b <= size else (-1, -1, tag)
               for lists, shift, size in zip(item_lists_per_doc, char_base, (len(d.text) for d in docs), strict=True)
               for items in lists for a, b, tag in items]
    # One iterator over every item's placement, in item order: each list below takes its own.
    placed = zip(*_char_spans(joined, shifted), strict=True)
    is_space = joined.is_space
    out = []
    for lists, first_token, n in zip(item_lists_per_doc, token_base, sizes, strict=True):
        doc_out = []
        for items in lists:
            aligned = []
            for (_, _, tag), (i, j, how) in zip(items, placed, strict=False):
                if how == _EXPANDED:
                    counts["spans_expanded"] += 1
                elif how == _NONE:
                    counts["spans_unalignable"] += 1
                    continue
                while i < j and is_space[i]:
                    i += 1
                while j > i and is_space[j - 1]:
                    j -= 1
                if i >= j:
                    counts["spans_unalignable"] += 1
                    continue
                aligned.append((i - first_token, j - first_token, tag))
            doc_out.append(_without_overlaps(n, aligned, counts))
        out.append(doc_out)
    return out


class _Joined:
    """The columns `_char_spans` reads, of several layers laid end to end (token t of doc k is
    `token_base[k] + t`; its characters are shifted by `char_base[k]`, one past the previous
    text, so no span reaches into a neighbour)."""

    def __init__(self, docs: list[TokenLayer], char_base: list[int]):
        sizes = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        shift = np.repeat(np.asarray(char_base, dtype=np.int64), sizes)
        self.n = int(sizes.sum())
        self.columns = {
            "starts": np.concatenate([doc.array("starts") for doc in docs]).astype(np.int64) + shift,
            "ends": np.concatenate([doc.array("ends") for doc in docs]).astype(np.int64) + shift,
            "spaces": np.concatenate([doc.array("spaces") for doc in docs]),
        }
        self.is_space = np.concatenate([doc.array("is_space") for doc in docs]).tolist()

    def __len__(self) -> int:
        return self.n

    def array(self, name: str) -> np.ndarray:
        return self.columns[name]


def _without_overlaps(n: int, aligned: list[tuple[int, int, str]], counts: Counter) -> list[tuple[int, int, str]]:
    if not aligned:
        return aligned
    aligned.sort(key=lambda t: (t[0] - t[1], t[0], t[2]))
    taken = bytearray(n)
    kept = []
    for i, j, tag in aligned:
        if any(taken[i:j]):
            counts["spans_overlapping"] += 1
            continue
        taken[i:j] = b"\x01" * (j - i)
        kept.append((i, j, tag))
    kept.sort()
    return kept


def bio(n: int, spans: list[tuple[int, int, str]]) -> list[str]:
    tags = ["O"] * n
    for i, j, tag in spans:
        tags[i] = f"B-{tag}"
        for k in range(i + 1, j):
            tags[k] = f"I-{tag}"
    return tags


def sentences(doc: TokenLayer, *span_lists: list[tuple[int, int, str]]) -> list[list[int]]:
    """Sentences as lists of non-space token indices. A sentence boundary that would cut a span
    is removed (the two sentences are joined), so no tag ever starts with I- in a new sentence."""
    inside = bytearray(len(doc) + 1)
    for spans in span_lists:
        for i, j, _ in spans:
            inside[i + 1:j] = b"\x01" * (j - i - 1)
    starts = [s for s in doc.sentence_starts() if not inside[s]]
    is_space = doc.is_space
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(doc)
        toks = [t for t in range(start, end) if not is_space[t]]
        if toks:
            out.append(toks)
    return out
