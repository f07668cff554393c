"""The row builder: streams ExportRows from the database in constant memory.

Articles are read in keyset-paginated chunks (`id > last ORDER BY id LIMIT n`); each chunk's
spans, annotations and gold rows are fetched with one query each, keyed on the chunk's ids —
four queries per chunk whatever the project size, never one per article. This is what
`.iterator(chunk_size=…)` + `Prefetch` would do, done by hand because it measured 2.5× faster
at ~80 spans per article: child rows are read as tuples (a raw cursor for spans) instead of
model instances, the ids go to PostgreSQL as one array parameter instead of 500 placeholders,
and a helper thread fetches the next chunk while this one is encoded (see `_chunks`).

Semantics (the contract documented in the JSONL writer):

* Articles: the project's, in id order, filtered by the published date range (inclusive, UTC
  dates; an article without a date is left out when a range is given). With
  `labels="gold"` only articles that have a Gold row; otherwise with `submitted_only` (the
  default) only articles with at least one submitted annotation or a Gold row.
* `annotations`: with `labels="annotators"`, every submitted annotation (every annotation,
  drafts included, when `submitted_only` is false), oldest first; empty for gold/majority.
* `gold`: the Gold row if any; else, with `labels="majority"`, the majority over submitted
  annotations (method "majority"); else null.
* Reference spans (JSONL `entities`/`quotes`, CoNLL tags, DocBin ents) come from people only:
  the Gold row's spans if it has any (`spans_from: "gold"`); else, if any submitted annotation
  has spans, the spans that more than half of the submitted annotations contain (identical
  start, end and label; with one submitted annotation, its spans) (`"majority"`); else none
  (`"none"`). Model and import suggestions are never reference spans: they are their own layer,
  read only with `include_suggestions` (`ExportRow.suggestions`, None when not asked).
* Document labels (`doc_labels`: CoNLL-U comments, DocBin cats, the split stratum) keep
  "missing" apart from "no" (see `_frame_decision`): a target without a decided stance is
  absent; frames are None when nobody decided any, and a frame that splits the voters exactly
  in half is listed in `frames_undecided`, neither positive nor negative.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Exists, F, Field, Func, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast

from annotate.consensus import majority_frames, majority_label
from annotate.models import (
    Annotation,
    Article,
    ArticlePrediction,
    Assignment,
    Gold,
    Project,
    Span,
    StorySettings,
    TokenLayerRow,
)
from annotate.nlp.token_layer import inflate
from annotate.stories.export import GroupSplitter, StorySnapshot, decorate, group_keys, story_snapshot

from .base import AnnotationOut, ExportContext, ExportRow, SpanOut
from .options import split_block

# Articles per round trip. 500 × ~4 KB of text plus ~80 span tuples each stays around 20 MB
# at peak, and four queries per 500 articles keeps the database cost under the JSON encoding.
CHUNK_SIZE = 500

SUBMITTED = Assignment.Status.SUBMITTED


def _this_article() -> dict:
    """`article_id = outer id`, written as a closed range on purpose. Under an OR of two EXISTS,
    PostgreSQL turns an equality into a *hashed* subplan: every 500-row chunk query then hashed
    all submitted assignments of the database first (~90 ms a chunk at 120k assignments, so the
    JSONL export ran at a third of a bare cursor and slowed with the database's size). The range
    cannot be hashed, so each article is probed once through the article_id index (117 ms → 2.5 ms
    a chunk, measured with EXPLAIN ANALYZE on the bench_export database)."""
    return {"article_id__gte": OuterRef("pk"), "article_id__lte": OuterRef("pk")}


def export_articles(*, project: Project, options: dict, copy_labels: bool | None = None) -> QuerySet[Article]:
    qs = Article.objects.filter(project=project)
    if options.get("published_from"):
        qs = qs.filter(published__date__gte=options["published_from"])
    if options.get("published_to"):
        qs = qs.filter(published__date__lte=options["published_to"])
    has_gold = Exists(Gold.objects.filter(**_this_article()))
    if options["labels"] == "gold":
        labelled = has_gold
    elif options["submitted_only"]:
        submitted = Exists(Assignment.objects.filter(**_this_article(), status=SUBMITTED, annotation__isnull=False))
        labelled = submitted | has_gold
    else:
        return qs
    if copies_labels(project) if copy_labels is None else copy_labels:
        # One article per duplicate group is annotated; the rest are exported with its labels.
        labelled_reps = Article.objects.filter(project=project).filter(labelled).values("pk")
        labelled = labelled | Q(fingerprint__duplicate_of__in=labelled_reps)
    return qs.filter(labelled)


def copies_labels(project: Project) -> bool:
    return StorySettings.objects.filter(
        project=project, duplicate_policy=StorySettings.DuplicatePolicy.ONE_PER_GROUP).exists()


class Pseudonyms:
    """Stable, non-reversible annotator ids: the same user gets the same id in every export
    of the project (HMAC of the site secret), different ids in different projects."""

    def __init__(self, project_id: int, use_names: bool):
        self.key = f"standpoint-export:{project_id}".encode() + settings.SECRET_KEY.encode()
        self.use_names = use_names
        self.cache: dict[int, str] = {}

    def __call__(self, user_id: int, username: str) -> str:
        if self.use_names:
            return username
        name = self.cache.get(user_id)
        if name is None:
            name = self.cache[user_id] = hmac.new(self.key, str(user_id).encode(), hashlib.sha256).hexdigest()[:8]
        return name


class Splitter:
    """Seeded train/dev/test assignment, stratified by the document's stance labels, streaming.

    Each stratum draws from shuffled blocks holding the exact proportions (80/10/10 → blocks of
    ten slots), so every stratum is split at the requested ratio up to one block, without a
    first pass over the data. Same seed, same data → same split.
    """

    def __init__(self, split: dict):
        self.seed = split["seed"]
        self.block = split_block(split)
        self.state: dict[str, tuple[int, list[str]]] = {}

    def __call__(self, stratum: str) -> str:
        n, slots = self.state.get(stratum, (0, []))
        if not slots:
            slots = list(self.block)
            random.Random(f"{self.seed}:{stratum}:{n}").shuffle(slots)
            n += 1
        name = slots.pop()
        self.state[stratum] = (n, slots)
        return name


def _filter_stance(stance: dict, targets: set[str] | None) -> dict:
    if not isinstance(stance, dict):
        return {}
    if targets is None:  # every target: the row's own decoded dict, no copy needed
        return stance
    return {k: v for k, v in stance.items() if k in targets}


def _frame_decision(anns: list[AnnotationOut]) -> tuple[list[str] | None, list[str]]:
    """(frames decided positive, frames left undecided) over the submitted annotations.

    Only annotations that chose at least one frame vote: an annotation without frames said
    nothing about them (not "no frame applies"). A frame chosen by more than half of the voters
    is positive. A decision exists only when at least one frame is positive; then a frame chosen
    by fewer than half of the voters is an explicit negative (most voters read the codebook and
    left it out), and a frame chosen by exactly half is undecided. No voters, or no frame with a
    majority (the annotators disagreed), is no decision: (None, []), and every frame is missing.
    """
    voters = [a.frames for a in anns if a.frames]
    if voters and all(frames == voters[0] for frames in voters):
        # Everybody chose the same frames (the common case): each is positive, none undecided.
        return list(dict.fromkeys(voters[0])), []
    return _frames_counted(voters)


def _frames_counted(voters: list[list[str]]) -> tuple[list[str] | None, list[str]]:
    """_frame_decision over the voters' frame lists, by counting (any agreement)."""
    positive = majority_frames(voters)
    if not positive:
        return None, []
    chosen: dict[str, int] = {}
    for frames in voters:
        for frame in dict.fromkeys(frames):
            chosen[frame] = chosen.get(frame, 0) + 1
    return positive, sorted(f for f, n in chosen.items() if n * 2 == len(voters))


def _majority(anns: list[AnnotationOut]) -> dict | None:
    if not anns:
        return None
    keys = sorted({k for a in anns for k in a.stance})
    stance = {}
    for key in keys:
        label = majority_label([a.stance.get(key) for a in anns])
        if label is not None:
            stance[key] = label
    frames, undecided = _frame_decision(anns)
    return {
        "stance": stance,
        "frames": frames,
        "frames_undecided": undecided,
        "primary_frame": majority_label([a.primary_frame for a in anns]),
        "method": "majority",
    }


def _public(labels: dict | None) -> dict | None:
    """The JSONL `gold` object: the document labels without the writers' bookkeeping."""
    if labels is None:
        return None
    return {k: labels[k] for k in ("stance", "frames", "primary_frame", "method")}


def _majority_spans(anns: list[AnnotationOut]) -> list[SpanOut]:
    first = anns[0].spans
    keys = [(s.start, s.end, s.label) for s in first]
    # The common case: every annotation holds the same spans, read in (start, end, label) order
    # without a repeat. Then each key is in all of them and the first annotation's spans are the
    # answer, in the order the general case below sorts them into.
    if (all(a < b for a, b in zip(keys, keys[1:], strict=False))
            and all([(s.start, s.end, s.label) for s in ann.spans] == keys for ann in anns[1:])):
        return list(first)
    return _majority_spans_counted(anns)


def _majority_spans_counted(anns: list[AnnotationOut]) -> list[SpanOut]:
    """The spans more than half of the annotations contain (a key counted once per annotation),
    in (start, end, label) order, each the first annotation's span of its key."""
    seen: dict[tuple, list] = {}
    for ann in anns:
        for span in ann.spans:
            key = (span.start, span.end, span.label)
            entry = seen.setdefault(key, [span, set()])
            entry[1].add(id(ann))
    need = len(anns)
    return [span for key, (span, who) in sorted(seen.items()) if len(who) * 2 > need]


def _json(value) -> dict:
    """A JSON object column read as text (or already decoded); `{}` for anything else."""
    if isinstance(value, dict):
        return value
    if not value or value == "{}":
        return {}
    decoded = orjson.loads(value)
    return decoded if isinstance(decoded, dict) else {}


class _EqualsAny(Func):
    """`expression = ANY(%s::bigint[])`: one array parameter instead of an IN list."""

    arg_joiner = " = ANY("
    template = "%(expressions)s::bigint[])"
    output_field = BooleanField()


def _id_in(field: str, ids: list[int]):
    """`field IN ids` as a filter. On PostgreSQL one array parameter: Django's psycopg cursor
    binds parameters client-side, parsing every placeholder in Python, and 500 placeholders per
    query cost more than the query itself."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    return _EqualsAny(F(field), Value(list(ids), output_field=Field()))


def _span_tuples(ids: list[int], labels: str, include_suggestions: bool):
    """The chunk's spans as plain tuples, attrs as JSON text.

    Read with a raw cursor on the ORM's own SQL: ~19,000 rows per chunk, where Django's
    per-value converters and json.loads cost three times the query itself.
    """
    qs = Span.objects.filter(_id_in("article_id", ids))
    if labels == "gold":
        qs = qs.filter(annotation__isnull=True)
    if not include_suggestions:  # the model's ~40 spans per article are not read for nothing
        qs = qs.exclude(annotation__isnull=True, gold__isnull=True)
    qs = qs.order_by("article_id", "start", "end", "label", "id").values_list(
        "article_id", "annotation_id", "gold_id", "start", "end", "label",
        Cast("attrs", output_field=TextField()), "origin", "model_name", "model_version")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


ARTICLE_FIELDS = ("id", "external_id", "title", "source", "url", "published", "meta", "text")
GOLD_FIELDS = ("id", "article_id", "stance", "frames", "primary_frame", "method")
ANNOTATION_FIELDS = ("id", "assignment__article_id", "assignment__annotator_id", "assignment__annotator__username",
                     "stance", "frames", "primary_frame", "notes", "assignment__status", "submitted_at",
                     # Whether the model's suggestions were shown (a LEFT JOIN in the same query).
                     "assignment__suggestion_exposure__shown", "assignment__suggestion_exposure__model_version")
# Positions of the JSON and timestamp columns in the tuples above (see _values).
ARTICLE_JSON, GOLD_JSON, ANNOTATION_JSON = (6,), (2, 3), (4, 5)
ARTICLE_TIME, ANNOTATION_TIME = (5,), (9,)


@dataclass
class _Chunk:
    """One chunk's rows as plain tuples: everything the database has to say, nothing built yet."""

    articles: list[tuple]
    golds: list[tuple]
    annotations: list[tuple]
    spans: list[tuple]
    predictions: dict[int, dict] | None = None
    # (article_id, pipeline, text_hash, data) of the stored token layers, when asked for
    layers: list[tuple] | None = None


# 19+ digits in a row: maybe an integer beyond 64 bits, which orjson would read as a float.
_LONG_NUMBER = re.compile(r"\d{19}")


def _loads(value):
    """A JSON column as PostgreSQL's driver hands it to Django (text; None for SQL NULL), decoded
    to the same values as Django's json.loads: orjson, ~5× faster, except for text that may hold
    an integer orjson cannot keep exact."""
    if value is None:
        return None
    return json.loads(value) if _LONG_NUMBER.search(value) else orjson.loads(value)


def _values(qs: QuerySet, json_columns: tuple[int, ...] = (), time_columns: tuple[int, ...] = ()) -> list[tuple]:
    """`list(qs)` for a values_list queryset: the same tuples, cheaper on PostgreSQL, where the
    ORM's conversions cost more than the query for a chunk's ~1,500 rows: stdlib json.loads of
    every JSON column through a per-value generator, and timestamps parsed by Django's
    pure-Python loader (a subclass of psycopg's Python class, so psycopg's C parser is never
    used). Here the rows come from the driver with its C timestamp parser; the columns named in
    `time_columns` are then put in Django's time zone (as its loader does), those in
    `json_columns` (text, as Django has the driver return them) decoded with `_loads`.
    Everything else (text, numbers, booleans) the driver already returns as Django would.
    Elsewhere (SQLite stores dates as text) the ORM converts."""
    if connection.vendor != "postgresql":
        return list(qs)
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if time_columns:
            cursor.cursor.adapters.register_loader("timestamptz", _c_timestamptz_loader())
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not json_columns and not time_columns:
        return rows
    tz = connection.timezone
    out = []
    for row in rows:
        row = list(row)
        for i in json_columns:
            row[i] = _loads(row[i])
        for i in time_columns:
            if row[i] is not None:  # without USE_TZ Django keeps the session's wall time, naive
                row[i] = row[i].astimezone(tz) if tz is not None else row[i].replace(tzinfo=None)
        out.append(tuple(row))
    return out


def _c_timestamptz_loader():
    """psycopg's own timestamptz loader (its C one when installed), not the one Django registers."""
    import psycopg
    from psycopg.postgres import types
    from psycopg.pq import Format

    return psycopg.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)


def _fetch_chunk(articles: QuerySet[Article], last: int, chunk_size: int, options: dict,
                 with_layers: bool = False, upto: int | None = None) -> _Chunk | None:
    """The next chunk_size articles after id `last`; with `upto`, all those up to that id instead."""
    selected = articles.filter(id__gt=last).values_list(*ARTICLE_FIELDS)
    selected = selected[:chunk_size] if upto is None else selected.filter(id__lte=upto)
    chunk = _values(selected, ARTICLE_JSON, ARTICLE_TIME)
    if not chunk:
        return None
    ids = [a[0] for a in chunk]
    labels = options["labels"]
    golds = _values(Gold.objects.filter(_id_in("article_id", ids)).values_list(*GOLD_FIELDS), GOLD_JSON)
    annotations: list[tuple] = []
    if labels != "gold":
        # The id range is redundant with the list, on purpose: with the list alone PostgreSQL
        # expects ~2 rows per id, prefers a hash join and reads the whole annotation table for
        # each chunk (46 ms a chunk at 120k annotations, growing with the database); with the
        # range it walks the two indexes (2 ms), measured with EXPLAIN ANALYZE on bench_export's.
        ann_qs = Annotation.objects.filter(_id_in("assignment__article_id", ids),
                                           assignment__article__gte=min(ids), assignment__article__lte=max(ids))
        if options["submitted_only"] or labels == "majority":
            ann_qs = ann_qs.filter(assignment__status=SUBMITTED)
        annotations = _values(ann_qs.order_by("id").values_list(*ANNOTATION_FIELDS), ANNOTATION_JSON,
                              ANNOTATION_TIME)
    predictions = None
    if options.get("include_predictions"):
        predictions = {article_id: {"model_version": version, "stance": stance, "probabilities": probabilities,
                                    "frames": frames, "primary_frame": primary or None}
                       for article_id, version, stance, probabilities, frames, primary in
                       ArticlePrediction.objects.filter(_id_in("article_id", ids)).values_list(
                           "article_id", "model__version", "stance", "probabilities", "frames", "primary_frame")}
    layers = None
    if with_layers:
        # Inflated here, in the prefetch thread when there is one: zlib lets go of the GIL, so
        # the next chunk's layers are inflated while this one is rendered (~8% of a CoNLL-U export).
        layers = [(article_id, key, digest, inflate(data)) for article_id, key, digest, data in
                  TokenLayerRow.objects.filter(_id_in("article_id", ids)).values_list(
                      "article_id", "pipeline", "text_hash", "data")]
    return _Chunk(chunk, golds, annotations, _span_tuples(ids, labels, options.get("include_suggestions", False)),
                  predictions, layers)


def _chunks(articles: QuerySet[Article], chunk_size: int, options: dict, with_layers: bool = False,
            ranges: list[tuple[int, int]] | None = None) -> Iterator[_Chunk]:
    """Chunks in id order: each chunk_size articles after the last one read, or, with `ranges`,
    the articles of each (after, upto] id range (a parallel build's share, see chunk_ranges; an
    empty range yields nothing).

    On PostgreSQL outside a transaction, the next chunk is fetched in a helper thread (its own
    connection) while this one is built and written: the database wait, ~40% of a JSONL export,
    then overlaps with the Python work (psycopg releases the GIL while it waits). Inside a
    transaction (tests, callers that need one snapshot) it stays sequential, since another
    connection could not see that transaction's rows."""
    pending_ranges = iter(ranges) if ranges is not None else None

    def fetch(last: int) -> _Chunk | None:
        if pending_ranges is None:
            return _fetch_chunk(articles, last, chunk_size, options, with_layers)
        for after, upto in pending_ranges:
            chunk = _fetch_chunk(articles, after, chunk_size, options, with_layers, upto=upto)
            if chunk is not None:
                return chunk
        return None

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        last = 0
        while (chunk := fetch(last)) is not None:
            last = chunk.articles[-1][0]
            yield chunk
        return

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-prefetch") as pool:
        try:
            pending = pool.submit(fetch, 0)
            while (chunk := pending.result()) is not None:
                pending = pool.submit(fetch, chunk.articles[-1][0])
                yield chunk
        finally:
            with contextlib.suppress(Exception):  # never hide the error that got us here
                pool.submit(lambda: connection.close()).result()  # the helper thread's own connection


def chunk_ranges(articles: QuerySet[Article], chunk_size: int) -> list[tuple[int, int]]:
    """The (after, upto] id ranges of the chunks `_chunks` would read now, chunk_size articles
    each (the ids streamed, never all held: a range per chunk is what is kept)."""
    ranges: list[tuple[int, int]] = []
    after = upto = 0
    count = 0
    for count, upto in enumerate(articles.order_by("id").values_list("id", flat=True).iterator(chunk_size=10_000), 1):
        if count % chunk_size == 0:
            ranges.append((after, upto))
            after = upto
    if count % chunk_size:
        ranges.append((after, upto))
    return ranges


def _splitter(project: Project, options: dict, articles: QuerySet[Article], snapshot, counts):
    split = options.get("split")
    if not split:
        return None
    group_by = split.get("group_by")
    if not group_by:
        stratified = Splitter(split)

        def by_stance(row: ExportRow) -> str:
            stance = row.doc_labels["stance"] if row.doc_labels else {}
            return stratified("|".join(f"{k}={v}" for k, v in sorted(stance.items())))
        return by_stance
    keys = group_keys(group_by, list(articles.values_list("id", "source")), snapshot)
    grouped = GroupSplitter(split, keys)
    if counts is not None:
        counts["split_group_by_" + group_by] = 1
        for name, value in grouped.achieved.items():
            counts[f"split_achieved_percent_{name}"] = value
            counts[f"split_groups_{name}"] = grouped.groups[name]
    return lambda row: grouped(row.article_id)


@dataclass
class RowSource:
    """What an export reads before its first row: the articles it selects, and the story
    snapshot their rows are decorated from. A parallel build takes it once, before its helper
    processes fork, so that they all see the same stories (annotate.exports.parallel)."""

    articles: QuerySet[Article]
    snapshot: StorySnapshot


def row_source(project: Project, options: dict) -> RowSource:
    # Taken before the first row: the whole export sees one set of story ids (see story_snapshot).
    copy_labels = copies_labels(project)
    snapshot = story_snapshot(project, copy_labels=copy_labels)
    articles = export_articles(project=project, options=options, copy_labels=copy_labels).order_by("id")
    return RowSource(articles, snapshot)


def iter_rows(*, project: Project, options: dict, ctx: ExportContext | None = None,
              chunk_size: int = CHUNK_SIZE, with_layers: bool = False,
              articles: QuerySet[Article] | None = None, source: RowSource | None = None,
              ranges: list[tuple[int, int]] | None = None) -> Iterator[ExportRow]:
    """Yield one ExportRow per exported article, in article-id order (see module docstring).

    With `with_layers` (the token formats), each row's `stored_layer` holds its stored token
    layer row, read with the chunk (in the helper thread), or None when it has none.

    `articles`: only these (the representatives whose labels duplicates copy); then no split,
    no counts and no story fields. `source`: the export's RowSource when already taken;
    `ranges`: only the chunks of these id ranges (see chunk_ranges)."""
    counts = ctx.counts if ctx is not None else None
    labels = options["labels"]
    include_suggestions = options.get("include_suggestions", False)
    targets = set(options["targets"]) if options.get("targets") else None
    pseudonym = Pseudonyms(project.pk, options.get("user_names", False))
    inner = articles is not None
    if inner:
        snapshot, splitter, counts = None, None, None
    else:
        source = source or row_source(project, options)
        snapshot, articles = source.snapshot, source.articles
        splitter = _splitter(project, options, articles, snapshot, counts)

    def rep_rows(ids: list[int]) -> Iterator[ExportRow]:
        return iter_rows(project=project, options={**options, "split": None}, chunk_size=chunk_size,
                         articles=Article.objects.filter(project=project, pk__in=ids).order_by("id"))

    for chunk in _chunks(articles, chunk_size, options, with_layers, ranges):
        stored_layers = {row[0]: row[1:] for row in chunk.layers} if chunk.layers is not None else None
        built: list[ExportRow] = []
        golds = {row[1]: row for row in chunk.golds}
        anns_by_article: dict[int, list[AnnotationOut]] = defaultdict(list)
        ann_by_id: dict[int, AnnotationOut] = {}
        for (ann_id, article_id, user_id, username, stance, frames, primary, notes, status,
             submitted_at, suggestions_shown, suggestion_model_version) in chunk.annotations:
            ann = AnnotationOut(
                annotator=pseudonym(user_id, username),
                stance=_filter_stance(stance, targets),
                frames=list(frames or []),
                primary_frame=primary or None,
                notes=notes,
                spans=[],
                submitted=status == SUBMITTED,
                submitted_at=submitted_at,
                suggestions_shown=suggestions_shown,
                suggestion_model_version=suggestion_model_version,
            )
            anns_by_article[article_id].append(ann)
            ann_by_id[ann_id] = ann

        suggestions: dict[int, list[SpanOut]] = defaultdict(list)
        gold_spans: dict[int, list[SpanOut]] = defaultdict(list)
        for article_id, ann_id, gold_id, start, end, label, attrs, origin, model_name, model_version in chunk.spans:
            span = SpanOut(start, end, label, {} if attrs == "{}" else _json(attrs), origin, model_name or None,
                           model_version or None)
            if ann_id is not None:
                ann = ann_by_id.get(ann_id)
                if ann is not None:
                    ann.spans.append(span)
            elif gold_id is not None:
                gold_spans[article_id].append(span)
            else:
                suggestions[article_id].append(span)

        for article_id, external_id, title, source, url, published, meta, text in chunk.articles:
            anns = anns_by_article.get(article_id, [])
            submitted = [a for a in anns if a.submitted]
            g = golds.get(article_id)
            gold = None
            if g is not None:
                # A Gold row is a person's decision: its frames are the positives and every other
                # frame of the codebook a negative, unless it has no frames (nothing decided).
                gold = {"stance": _filter_stance(g[2], targets), "frames": list(g[3]) if g[3] else None,
                        "frames_undecided": [], "primary_frame": g[4] or None, "method": g[5]}
            majority = _majority(submitted) if gold is None else None
            if g is not None and gold_spans.get(article_id):
                spans, spans_from = gold_spans[article_id], "gold"
            elif any(a.spans for a in submitted):
                spans, spans_from = _majority_spans(submitted), "majority"
            else:
                spans, spans_from = [], "none"
            doc_labels = gold or majority
            row = ExportRow(
                article_id=article_id,
                id=external_id or str(article_id),
                title=title or None,
                source=source or None,
                url=url or None,
                published=published,
                meta=meta if isinstance(meta, dict) else {},
                text=text,
                spans=spans,
                spans_from=spans_from,
                annotations=anns if labels == "annotators" else [],
                gold=_public(gold if gold is not None or labels != "majority" else majority),
                doc_labels=doc_labels,
                suggestions=suggestions.get(article_id, []) if include_suggestions else None,
                predictions=chunk.predictions.get(article_id) if chunk.predictions is not None else None,
                predictions_asked=chunk.predictions is not None,
            )
            if stored_layers is not None:
                row.stored_layer = stored_layers.get(article_id)
            built.append(row)
        if snapshot is not None:
            decorate(built, snapshot, rep_rows)
        for row in built:
            if splitter is not None:
                row.split = splitter(row)
            if counts is not None:
                counts["articles"] += 1
                counts["annotations"] += len(row.annotations)
                counts[f"spans_from_{row.spans_from}"] += 1
                if row.labels_from:
                    counts["labels_copied"] += 1
                if row.suggestions:
                    counts["suggestions"] += len(row.suggestions)
                if row.split:
                    counts[f"split_{row.split}"] += 1
            yield row
