"""Tokens, sentences and tags for the token-level formats (CoNLL-2003, CoNLL-U, DocBin).

Exports only need the tokenizer, sentence boundaries and POS tags, so the project's pipeline
is loaded without the parser, NER and lemmatizer (its `senter` is switched on instead of the
parser): ~4× faster than the full pipeline. Loaded once per process. When SPACY_MODEL cannot be
loaded, `spacy.blank("en")` + sentencizer is used and the job records which pipeline it was.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from pathlib import Path

from django.conf import settings

from .base import QUOTE_LABEL, SPEAKER_LABEL, ExportRow

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
        desc = f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', name)}-{nlp.meta.get('version', '?')}"
        return nlp, f"{desc} ({','.join(nlp.pipe_names)})"
    except Exception as exc:
        logger.warning("Exports cannot load SPACY_MODEL %r (%s); falling back to spacy.blank('en') + "
                       "sentencizer: no POS tags.", name, exc)
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp, f"blank:en (sentencizer; {name!r} failed to load)"


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


def align(doc, items: list[tuple[int, int, str]], counts: Counter) -> list[tuple[int, int, str]]:
    """Token ranges (i, j, tag) for character spans, sorted and non-overlapping.

    A span off token boundaries is expanded to the tokens it touches (`spans_expanded`);
    leading/trailing whitespace tokens are trimmed; a span that covers no word is counted in
    `spans_unalignable`; where spans overlap (BIO cannot nest) the longest wins and the rest are
    counted in `spans_overlapping`. Nothing disappears without a count.
    """
    aligned = []
    for start, end, tag in items:
        span = doc.char_span(start, end)
        if span is None:
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is not None:
                counts["spans_expanded"] += 1
        if span is None:
            counts["spans_unalignable"] += 1
            continue
        i, j = span.start, span.end
        while i < j and doc[i].is_space:
            i += 1
        while j > i and doc[j - 1].is_space:
            j -= 1
        if i >= j:
            counts["spans_unalignable"] += 1
            continue
        aligned.append((i, j, tag))
    aligned.sort(key=lambda t: (t[0] - t[1], t[0], t[2]))
    taken = bytearray(len(doc))
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


def sentences(doc, *span_lists: list[tuple[int, int, str]]) -> list[list[int]]:
    """Sentences as lists of non-space token indices. A sentence boundary that would cut a span
    is removed (the two sentences are joined), so no tag ever starts with I- in a new sentence."""
    inside = bytearray(len(doc) + 1)
    for spans in span_lists:
        for i, j, _ in spans:
            inside[i + 1:j] = b"\x01" * (j - i - 1)
    starts = [s.start for s in doc.sents if not inside[s.start]]
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(doc)
        toks = [t for t in range(start, end) if not doc[t].is_space]
        if toks:
            out.append(toks)
    return out
