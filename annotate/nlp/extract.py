"""Turn processed Docs into Standpoint suggestions: the one code path shared by the Celery jobs and
`manage.py preannotate_file`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .graphemes import inside_positions, snap
from .token_layer import (
    encode,
    layer_from_doc,
    predicted_sent_starts,
    sentence_predictor,
    unparsed_attributes,
)

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from .loading import LoadedPipeline

logger = logging.getLogger("standpoint.nlp")

# spaCy's default max_length (1,000,000) refuses longer texts; an article that long is still
# processed, in pieces cut at paragraph breaks, so that offsets stay exact and nothing is lost.
CHUNK_CHARS = 100_000
# nlp.pipe batch size: large enough to amortise the model's batching, small enough for memory.
BATCH_SIZE = 32


@dataclass
class ArticleResult:
    key: object
    entities: list[dict] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)
    error: str | None = None
    # The encoded token layer (annotate.nlp.token_layer) when asked for and computed.
    layer: bytes | None = None
    layer_tokens: int = 0
    # Quote or speaker boundaries moved out of a grapheme cluster (a flag, an emoji sequence).
    spans_snapped: int = 0


def doc_result(key: object, doc: Doc, *, offset: int = 0) -> ArticleResult:
    text = doc.text
    inside = inside_positions(text)
    snapped = 0

    def whole(start: int, end: int) -> tuple[int, int]:
        nonlocal snapped
        fixed = snap(text, start, end, inside)
        if fixed != (start, end):
            snapped += 1
        return fixed
    seen = set()
    entities = []
    for ent in doc.ents:
        if not ent.text.strip():
            continue
        item = (ent.start_char + offset, ent.end_char + offset, ent.label_)
        if item in seen:
            continue
        seen.add(item)
        entities.append({"start": item[0], "end": item[1], "label": ent.label_, "text": ent.text})
    quotes = []
    for q in doc._.sp_quotes or []:
        q_start, q_end = whole(q.start, q.end)
        speaker_span = None
        if q.speaker_start is not None:
            s_start, s_end = whole(q.speaker_start, q.speaker_end)
            speaker_span = {"start": s_start + offset, "end": s_end + offset}
        quotes.append({
            "start": q_start + offset,
            "end": q_end + offset,
            "text": text[q_start:q_end],
            "kind": q.kind,
            "speaker": q.speaker,
            "speaker_span": speaker_span,
        })
    return ArticleResult(key, entities, quotes, spans_snapped=snapped)


def _with_layer(result: ArticleResult, doc: Doc, sent_starts: list[int], nlp) -> ArticleResult:
    """Attach the encoded token layer; a failure here costs the layer (the export then analyses
    the article itself), never the suggestions."""
    try:
        layer = unparsed_attributes(layer_from_doc(doc, sent_starts), nlp, parsed=doc)
        result.layer, result.layer_tokens = encode(layer), len(layer)
    except Exception:
        logger.exception("token layer of %s not computed", result.key)
    return result


def _pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """Cut an over-long text at paragraph (else line, else space) breaks into pieces <= limit."""
    pieces, pos = [], 0
    while len(text) - pos > limit:
        window = text[pos : pos + limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append((pos, text[pos : pos + cut]))
        pos += cut
    pieces.append((pos, text[pos:]))
    return pieces


def process_texts(
    pipeline: LoadedPipeline, items: Iterable[tuple[object, str]], *, batch_size: int = BATCH_SIZE,
    token_layers: bool = False,
) -> Iterator[ArticleResult]:
    """Run the pipeline over (key, text) pairs with nlp.pipe; one result per item, in order.

    A text that breaks the pipeline yields a result with `error` set: one bad article never stops
    the rest. Over-long texts are processed in pieces (offsets mapped back exactly) and get no
    token layer (an export analyses them whole). With `token_layers`, each result carries the
    encoded token layer of its Doc, its sentences from the export's sentence predictor run on the
    tokens (annotate.nlp.token_layer), not from the parser.
    """
    nlp = pipeline.nlp
    predictor = sentence_predictor(nlp) if token_layers else None
    normal: list[tuple[object, str]] = []
    order: list[object] = []
    long_results: dict[int, ArticleResult] = {}
    for n, (key, text) in enumerate(items):
        order.append(key)
        if not text or not text.strip():
            long_results[n] = ArticleResult(key, error="empty text: nothing to pre-annotate")
        elif len(text) > CHUNK_CHARS:
            long_results[n] = _process_long(pipeline, key, text)
        else:
            normal.append((n, text))
    results: dict[int, ArticleResult] = dict(long_results)
    texts = (t for _, t in normal)
    try:
        pending: list[tuple[int, Doc]] = []

        def finish() -> None:
            starts = predicted_sent_starts(predictor, [doc for _, doc in pending])
            for (n, doc), sent in zip(pending, starts, strict=True):
                results[n] = _with_layer(doc_result(order[n], doc), doc, sent, nlp)
            pending.clear()

        for (n, _), doc in zip(normal, nlp.pipe(texts, batch_size=batch_size), strict=True):
            if predictor is None:
                results[n] = doc_result(order[n], doc)
                continue
            pending.append((n, doc))
            if len(pending) >= batch_size:
                finish()
        if pending:
            finish()
    except Exception:
        # A batch failed: redo its items one by one to find and record the culprit(s).
        for n, text in normal:
            if n in results:
                continue
            results[n] = _process_one(pipeline, order[n], text, predictor)
    for n in range(len(order)):
        yield results[n]


def _process_one(pipeline: LoadedPipeline, key: object, text: str, predictor=None) -> ArticleResult:
    try:
        doc = pipeline.nlp(text)
        result = doc_result(key, doc)
        if predictor is not None:
            result = _with_layer(result, doc, predicted_sent_starts(predictor, [doc])[0], pipeline.nlp)
        return result
    except Exception as exc:
        return ArticleResult(key, error=f"{exc.__class__.__name__}: {exc}"[:2000])


def _process_long(pipeline: LoadedPipeline, key: object, text: str) -> ArticleResult:
    merged = ArticleResult(key)
    try:
        for offset, piece in _pieces(text, CHUNK_CHARS):
            part = doc_result(key, pipeline.nlp(piece), offset=offset)
            merged.entities.extend(part.entities)
            merged.quotes.extend(part.quotes)
            merged.spans_snapped += part.spans_snapped
    except Exception as exc:
        return ArticleResult(key, error=f"{exc.__class__.__name__}: {exc}"[:2000])
    return merged
