"""The writer interface and the row every writer consumes (G8).

A writer is a small class registered under a versioned name (`jsonl.v1`). The export service
opens one per output file, feeds it rows in article-id order and closes it; a writer never
holds more than one article (or one bounded shard) in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, ClassVar

QUOTE_LABEL = "QUOTE"
MISSING = object()
SPEAKER_LABEL = "SPEAKER"

LABEL_MODES = ("annotators", "gold", "majority")
SPAN_LAYERS = ("entities", "quotes")
SPLIT_NAMES = ("train", "dev", "test")


@dataclass(slots=True)
class SpanOut:
    start: int
    end: int
    label: str
    attrs: dict
    origin: str
    # Set on suggestions (origin model): the pipeline that proposed the span.
    model_name: str | None = None
    model_version: str | None = None


@dataclass(slots=True)
class AnnotationOut:
    annotator: str
    stance: dict
    frames: list
    primary_frame: str | None
    notes: str
    spans: list[SpanOut]
    submitted: bool
    submitted_at: datetime | None
    # Whether the annotator was shown the model's suggestions, and whose (None: never asked).
    suggestions_shown: bool | None = None
    suggestion_model_version: int | None = None


@dataclass(slots=True)
class ExportRow:
    """One article with everything every format needs; built by annotate.exports.rows."""

    article_id: int
    id: str
    title: str | None
    source: str | None
    url: str | None
    published: datetime | None
    meta: dict
    text: str
    # The reference span layer, from people only: gold spans, else the majority of submitted
    # annotators, else none (see annotate.exports.rows). `spans_from` names which one it is.
    spans: list[SpanOut]
    spans_from: str
    annotations: list[AnnotationOut]
    # {"stance", "frames", "primary_frame", "method"} or None (see rows.row_gold).
    gold: dict | None
    # Document-level labels used as CoNLL-U comments, DocBin cats and the split stratum:
    # the gold row, else the majority over submitted annotations. `frames` is None when no
    # frame was decided; `frames_undecided` lists frames that are neither positive nor negative.
    doc_labels: dict | None
    split: str | None = None
    # Model/import suggestions, their own layer: None unless `include_suggestions` was asked.
    suggestions: list[SpanOut] | None = None
    # The active model's prediction, its own layer, never mixed with the labels: None unless
    # `include_predictions` was asked (then a dict, or None for an article without one).
    predictions: dict | None = None
    predictions_asked: bool = False
    # The stored token layer (pipeline, text_hash, data) read with the row for the token
    # formats, None when the article has none; MISSING when it was not read (then looked up).
    stored_layer: Any = MISSING
    # Stories and near-duplicates (annotate.stories.export): the story id, the duplicate group
    # (its first article's export id) and, when labels were copied from that article, its id.
    story: int | None = None
    duplicate_group: str | None = None
    labels_from: str | None = None

    @property
    def entities(self) -> list[SpanOut]:
        return [s for s in self.spans if s.label != QUOTE_LABEL]

    @property
    def quotes(self) -> list[SpanOut]:
        return [s for s in self.spans if s.label == QUOTE_LABEL]


@dataclass
class ExportContext:
    """What a writer may know besides the row: validated options, the label schema, counters."""

    options: dict
    stance_labels: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    pipeline_name: str = ""
    counts: Counter = field(default_factory=Counter)
    # Articles in the export, known before the first row (a writer may package by size).
    total: int = 0
    # The file's sha256 when it was hashed while written (row-only formats); else computed after.
    file_sha256: str = ""


class Writer:
    """One output format. Subclasses set the class attributes and implement `write`."""

    name: ClassVar[str] = ""
    extension: ClassVar[str] = ""
    media_type: ClassVar[str] = "application/octet-stream"
    # True when rows need a spaCy Doc (tokens, sentences, tags) as well.
    needs_doc: ClassVar[bool] = False
    # True when the writer only appends to its file (never seeks back): the service then hashes
    # the file while it is written instead of reading it back.
    appends_only: ClassVar[bool] = True
    # True when the writer puts the train/dev/test split into its own output (a `split`
    # field, or folders inside its archive); otherwise the service writes one file per split
    # and zips them.
    handles_split: ClassVar[bool] = False
    # Rows per chunk of a parallel build when the writer's parts must hold that many (DocBin's
    # shards), so that the file is the one a single writer makes; else the build's chunk size.
    part_rows: ClassVar[int | None] = None

    @classmethod
    def extension_for(cls, ctx: ExportContext) -> str:
        """The file's extension for this export (a writer may package small and large ones apart)."""
        return cls.extension

    def __init__(self, out: IO[bytes], ctx: ExportContext):
        self.out = out
        self.ctx = ctx
        # Whether the file's opening was written (or is written by someone else: the helpers
        # of a parallel build leave it to their parent).
        self.opened = False

    def opening(self) -> bytes:
        """What the file starts with, before the first row's bytes."""
        return b""

    # -- parallel builds (annotate.exports.parallel) --
    @classmethod
    def builds_in_parts(cls, ctx: ExportContext) -> bool:
        """Whether this export's bytes for a run of rows depend on those rows alone (the file's
        `opening()` aside): a build may then split the rows among processes and join the parts
        in order."""
        return False
    @classmethod
    def part_writer(cls, out: IO[bytes], ctx: ExportContext) -> Writer:
        """A helper's writer: it writes the bytes of the chunks it is given, the file's opening
        left to the parent."""
        part = cls(out, ctx)
        part.opened = True
        return part

    def end_part(self) -> None:
        """A helper's writer: everything buffered for the chunk's rows written to `out`."""
        self.close()

    def add_part(self, part: bytes) -> None:
        """The parent's writer: one chunk's bytes from a helper, in chunk order."""
        if part and not self.opened:
            self.opened = True
            self.out.write(self.opening())
        self.out.write(part)

    def write(self, row: ExportRow, doc: Any = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Flush whatever the writer buffered; the service closes the file itself."""
