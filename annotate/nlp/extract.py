"""Turn processed Docs into Standpoint suggestions: the one code path shared by the Celery jobs and
`manage.py preannotate_file`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from .loading import LoadedPipeline

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


def doc_result(key: object, doc: Doc, *, offset: int = 0) -> ArticleResult:
    text = doc.text
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
        quotes.append({
            "start": q.start + offset,
            "end": q.end + offset,
            "text": text[q.start : q.end],
            "kind": q.kind,
            "speaker": q.speaker,
            "speaker_span": (
                {"start": q.speaker_start + offset, "end": q.speaker_end + offset}
                if q.speaker_start is not None else None
            ),
        })
    return ArticleResult(key, entities, quotes)


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
    pipeline: LoadedPipeline, items: Iterable[tuple[object, str]], *, batch_size: int = BATCH_SIZE
) -> Iterator[ArticleResult]:
    """Run the pipeline over (key, text) pairs with nlp.pipe; one result per item, in order.

    A text that breaks the pipeline yields a result with `error` set: one bad article never stops
    the rest. Over-long texts are processed in pieces (offsets mapped back exactly).
    """
    nlp = pipeline.nlp
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
        for (n, _), doc in zip(normal, nlp.pipe(texts, batch_size=batch_size), strict=True):
            results[n] = doc_result(order[n], doc)
    except Exception:
        # A batch failed: redo its items one by one to find and record the culprit(s).
        for n, text in normal:
            if n in results:
                continue
            results[n] = _process_one(pipeline, order[n], text)
    for n in range(len(order)):
        yield results[n]


def _process_one(pipeline: LoadedPipeline, key: object, text: str) -> ArticleResult:
    try:
        return doc_result(key, pipeline.nlp(text))
    except Exception as exc:
        return ArticleResult(key, error=f"{exc.__class__.__name__}: {exc}"[:2000])


def _process_long(pipeline: LoadedPipeline, key: object, text: str) -> ArticleResult:
    merged = ArticleResult(key)
    try:
        for offset, piece in _pieces(text, CHUNK_CHARS):
            part = doc_result(key, pipeline.nlp(piece), offset=offset)
            merged.entities.extend(part.entities)
            merged.quotes.extend(part.quotes)
    except Exception as exc:
        return ArticleResult(key, error=f"{exc.__class__.__name__}: {exc}"[:2000])
    return merged
