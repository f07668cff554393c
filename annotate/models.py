"""The Standpoint domain. Writes go through annotate.services, reads through annotate.selectors.

Offsets everywhere are Unicode code point indices into Article.text, end exclusive.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from .label_schema import default_label_schema


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    guidelines = models.TextField(blank=True, default="", help_text="Markdown, shown to annotators.")
    label_schema = models.JSONField(default=default_label_schema)
    overlap = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="How many different annotators see each article."
    )
    assignment_timeout_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)],
        help_text="An assignment idle longer than this goes back to the queue.",
    )
    # Nullable, no default, None meaning the default (REOPEN_WINDOW_HOURS, UNREVIEWED_ASK): adding a
    # column with a default would make SQLite rebuild the table (COMMON.md on migrations).
    reopen_window_hours = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="How long after submitting annotators may reopen their own submission (hours; "
                  "0 = only reviewers may reopen). Empty = 24.",
    )
    unreviewed_suggestions = models.CharField(
        max_length=8, null=True, blank=True, choices=[("ask", "Ask once"), ("block", "Refuse"), ("allow", "Allow")],
        help_text="Submitting with suggestions neither accepted nor rejected: ask once (default), "
                  "block (refused), or allow silently.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Model in the loop (annotate.services.models). Nullable, no default: None means the default
    # (QUEUE_ORDER_DEFAULT …), and adding them never rebuilds the table (and its trigger) on SQLite.
    queue_order = models.CharField(max_length=12, null=True, blank=True,
                                   help_text="import (default) | uncertainty | mix")
    queue_uncertainty_share = models.FloatField(null=True, blank=True,
                                                help_text="mix: share of `next` calls by uncertainty (default 0.5)")

    QUEUE_ORDERS = ("import", "uncertainty", "mix")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_gte_1")]

    def __str__(self) -> str:
        return self.name

    REOPEN_WINDOW_HOURS = 24
    UNREVIEWED_ASK = "ask"

    @property
    def reopen_window(self) -> int:
        """Hours after submitting during which the annotator may reopen it themselves (0: never)."""
        return self.REOPEN_WINDOW_HOURS if self.reopen_window_hours is None else self.reopen_window_hours

    @property
    def unreviewed_policy(self) -> str:
        return self.unreviewed_suggestions or self.UNREVIEWED_ASK

    @property
    def queue_order_value(self) -> str:
        return self.queue_order or "import"

    @property
    def queue_uncertainty_share_value(self) -> float:
        return 0.5 if self.queue_uncertainty_share is None else self.queue_uncertainty_share

    @property
    def stance_labels(self) -> list[str]:
        return list(self.label_schema.get("stance_labels", []))

    @property
    def frames(self) -> list[str]:
        return list(self.label_schema.get("frames", []))

    @property
    def span_labels(self) -> list[str]:
        return list(self.label_schema.get("span_labels", []))


class Target(models.Model):
    """A stance target: the thing whose stance annotators judge (e.g. 'Western troops in Ukraine')."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="targets")
    key = models.SlugField(max_length=100, help_text="Stable id used in annotations and exports.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    # Other names the target goes by in text ("Kyiv" for "Ukraine's government"): the stance model
    # looks at the sentences that mention the name, the key or one of these. None = none.
    aliases = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="target_unique_key_per_project")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        REVIEWER = "reviewer", "Reviewer"
        ANNOTATOR = "annotator", "Annotator"
        EXPORTER = "exporter", "Exporter"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user_per_project")]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} of {self.project}"


# Article columns that database triggers keep (migrations 0003, 0004); a full save leaves them alone.
TRIGGER_OWNED = ("active_assignments", "in_queue")
# Article.queue_margin's stand-in for "no prediction": above every margin, so last in the queue.
NO_MARGIN = 2.0


class Article(models.Model):
    class Preannotation(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="articles")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    title = models.TextField(blank=True, default="")
    source = models.CharField(max_length=255, blank=True, default="")
    url = models.TextField(blank=True, default="")
    published = models.DateTimeField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    text = models.TextField(help_text="Stored verbatim: offsets index into it. Immutable once annotated.")
    content_hash = models.CharField(max_length=64)
    priority = models.IntegerField(default=0, help_text="Higher comes first in the task queue.")
    # Assignments holding one of the article's `overlap` slots (assigned, in progress, submitted).
    # Kept by database triggers (migration 0003) on every write to assignments, whoever makes it;
    # the task queue reads it instead of counting, and a concurrent change to it makes
    # PostgreSQL re-check a locked candidate (see annotate.services.queue.assignment_next).
    active_assignments = models.PositiveIntegerField(default=0, editable=False)
    # active_assignments < the project's overlap: the article still has a free slot. Kept by the
    # same triggers, and by one on the project's overlap (migration 0004). The queue's partial
    # index holds only these articles, so `next` never walks past the full ones (tens of
    # thousands late in a large project).
    in_queue = models.BooleanField(default=True, editable=False)
    # The active model's margin (ArticlePrediction.margin), copied here by predictions_compute so
    # the uncertainty queue reads one index in order (article_queue_uncertain) instead of looking
    # up and sorting the margin of every open article on each `next` (0.7 s at 100k articles).
    queue_margin = models.FloatField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Pre-annotation bookkeeping (annotate.nlp): per-article so one bad article never hides the rest.
    preannotation_status = models.CharField(
        max_length=10, choices=Preannotation.choices, default=Preannotation.PENDING)
    preannotation_error = models.TextField(blank=True, default="")
    preannotated_at = models.DateTimeField(null=True, blank=True)
    preannotation_model = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], condition=Q(external_id__isnull=False),
                name="article_unique_external_id_per_project",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "-priority", "id"], name="article_queue_order"),
            models.Index(fields=["project", "-priority", "id"], condition=Q(in_queue=True), name="article_queue_open"),
            # Margins lie in [0, 1]: COALESCE to 2 puts articles without a prediction last (SQLite
            # indexes take no NULLS LAST). The queue orders by exactly this expression.
            models.Index(F("project"), F("priority").desc(), Coalesce(F("queue_margin"), Value(NO_MARGIN)), F("id"),
                         condition=Q(in_queue=True), name="article_queue_uncertain"),
            models.Index(fields=["project", "preannotation_status"], name="article_preannotation"),
            # Re-importing records that carry no id is de-duplicated by content.
            models.Index(fields=["project", "content_hash"], name="article_by_content"),
        ]

    def __str__(self) -> str:
        return self.external_id or self.title[:60] or f"article {self.pk}"

    def save(self, *args, **kwargs):
        # A full save (the admin's, say) must not write back a stale `active_assignments` or
        # `in_queue` (the database triggers own those columns) or `queue_margin` (predictions own it).
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name not in (*TRIGGER_OWNED, "queue_margin")]
        super().save(*args, **kwargs)


class Assignment(models.Model):
    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    OPEN_STATUSES = (Status.ASSIGNED, Status.IN_PROGRESS)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ASSIGNED)
    skip_reason = models.TextField(blank=True, default="")
    assigned_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    time_spent_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["article", "annotator"], name="assignment_unique_article_annotator"),
        ]
        indexes = [
            models.Index(fields=["project", "annotator", "status"], name="assignment_by_annotator"),
            models.Index(fields=["article", "status"], name="assignment_by_article"),
        ]

    def __str__(self) -> str:
        return f"{self.article} → {self.annotator} ({self.status})"


class Annotation(models.Model):
    """One annotator's work on one article. `version` increases on every write (optimistic locking)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="annotation")
    stance = models.JSONField(default=dict, blank=True, help_text="{target key: stance label}")
    frames = models.JSONField(default=list, blank=True)
    primary_frame = models.CharField(max_length=200, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    # Suggestion ids this annotator rejected, so they are not offered again.
    rejected_suggestions = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"annotation of {self.assignment}"


class Gold(models.Model):
    class Method(models.TextChoices):
        ADJUDICATED = "adjudicated", "Adjudicated"
        UNANIMOUS = "unanimous", "Unanimous (accepted)"
        MAJORITY = "majority", "Majority"
        IMPORTED = "imported", "Imported with the article"

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="gold")
    stance = models.JSONField(default=dict, blank=True)
    frames = models.JSONField(default=list, blank=True)
    primary_frame = models.CharField(max_length=200, blank=True, default="")
    method = models.CharField(max_length=12, choices=Method.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="gold_decisions")
    decided_at = models.DateTimeField(auto_now=True)
    notes = models.TextField(blank=True, default="")
    # Bumped by every write (annotate.services.gold): a reviewer's write based on an older gold
    # gets 409 stale_write instead of silently undoing another reviewer's change.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "gold"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"gold for {self.article} ({self.method})"


class Span(models.Model):
    """A labelled character range. Belongs to an annotation (an annotator's), to gold, or to
    neither: then it is a suggestion from the model or an import, offered to every annotator."""

    class Origin(models.TextChoices):
        MODEL = "model", "Model"
        IMPORT = "import", "Import"
        HUMAN = "human", "Human"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="spans")
    annotation = models.ForeignKey(Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="spans")
    gold = models.ForeignKey(Gold, null=True, blank=True, on_delete=models.CASCADE, related_name="spans")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    label = models.CharField(max_length=64)
    # Quotes: {"kind": "direct|partial|scare", "speaker": str|None, "speaker_span": {"start","end"}|None}
    attrs = models.JSONField(default=dict, blank=True)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    # The suggestion an annotator accepted (or relabelled) to make this span.
    suggestion = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_name = models.CharField(max_length=200, blank=True, default="")
    model_version = models.CharField(max_length=50, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Gold spans only: where the span came from (GoldSource), and the annotation it was taken
    # from. A plain id, not a foreign key: the annotation may be reopened and its spans rewritten,
    # the gold's record of where it started must not block that or vanish with it.
    gold_source = models.CharField(max_length=12, null=True, blank=True)
    from_annotation_id = models.PositiveBigIntegerField(null=True, blank=True)

    class GoldSource(models.TextChoices):
        ANNOTATION = "annotation", "An annotator's span"
        SUGGESTION = "suggestion", "A model or import suggestion"
        CONSENSUS = "consensus", "The annotators' majority or unanimity"
        ADJUDICATOR = "adjudicator", "Added or changed by the adjudicator"

    class Meta:
        ordering = ["article_id", "start", "end", "label", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gt=F("start")), name="span_start_lt_end"),
            models.CheckConstraint(
                condition=Q(annotation__isnull=True) | Q(gold__isnull=True), name="span_one_owner"),
            # The same span twice in one annotation is refused (suggestions: de-duplicated in nlp).
            models.UniqueConstraint(
                fields=["annotation", "start", "end", "label"], condition=Q(annotation__isnull=False),
                name="span_unique_per_annotation",
            ),
        ]
        indexes = [models.Index(fields=["article", "annotation"], name="span_by_article_owner")]

    def __str__(self) -> str:
        return f"{self.label}[{self.start}:{self.end}]"


class PreannotationRun(models.Model):
    """Progress of one pre-annotation request over a project (queued in chunks)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="preannotation_runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    model_name = models.CharField(max_length=200, blank=True, default="")
    model_version = models.CharField(max_length=50, blank=True, default="")
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When its chunks were last sent or last moved; stale = messages lost.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"pre-annotation {self.pk} of {self.project} ({self.status}, {self.processed}/{self.total})"


class ExportJob(models.Model):
    """One dataset export. Once DONE its file is immutable: a dataset version."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=40, help_text="Versioned writer name, e.g. jsonl.v1")
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    file_path = models.CharField(max_length=500, blank=True, default="")
    file_name = models.CharField(max_length=255, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    nlp_pipeline = models.CharField(max_length=200, blank=True, default="")
    codebook_version = models.PositiveIntegerField(default=1)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="exports")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Refreshed while running; stale = dead worker.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "status"], name="export_by_project_status")]

    def __str__(self) -> str:
        return f"export {self.pk} {self.format} ({self.status})"


class AuditEvent(models.Model):
    """One decision about the dataset: who, when, what, before/after (annotate.services.audit).

    Written in the same transaction as the change it records. It keeps the names of the actor and
    the object, so it outlives them: deleting a user, gold or membership never deletes its history.
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    # Dotted, stable names that clients filter on: gold.create, codebook.change, membership.delete, …
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=255, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["project", "-id"], name="audit_by_project"),
            models.Index(fields=["project", "action", "-id"], name="audit_by_project_action"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_name or '—'}"


class TokenLayerRow(models.Model):
    """An article's stored token layer (annotate.nlp.token_layer): tokens, sentences, tags.

    Its own table, one row per article, so that storing it never rewrites Article (nor its
    triggers on SQLite). Valid only for the text whose sha256 is `text_hash` and for exports
    using the pipeline `pipeline`; anything else is re-analysed by the export. Never served by
    the API: only the export writers read it.
    """

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="token_layer")
    pipeline = models.CharField(max_length=200, help_text="Pipeline key, e.g. en_core_web_sm@3.8.0/tokens.v1")
    text_hash = models.CharField(max_length=64)
    data = models.BinaryField()
    tokens = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["pipeline"], name="token_layer_pipeline")]

    def __str__(self) -> str:
        return f"token layer of article {self.article_id} ({self.pipeline})"



class ModelSettings(models.Model):
    """A project's model-in-the-loop settings (annotate.services.models). Its own table, one row
    per project, made on first change: a project without one uses the defaults below."""

    project = models.OneToOneField(Project, primary_key=True, on_delete=models.CASCADE, related_name="model_settings")
    min_labels = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(2)], help_text="Labels a target needs before it is trained.")
    retrain_every = models.PositiveIntegerField(
        default=25, validators=[MinValueValidator(1)], help_text="Train again after this many new submissions.")
    suggestions_enabled = models.BooleanField(default=True, help_text="Show the active model's suggestions.")
    prefill = models.BooleanField(default=False, help_text="Pre-select suggested stances (off: only shown).")
    withhold_share = models.FloatField(
        default=0.0, help_text="Share of assignments (0-1) that never see suggestions, to measure their bias.")
    submissions_at_last_train = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"model settings of {self.project_id}"


class TrainedModel(models.Model):
    """One trained version of a project's stance and frame classifiers; the artefact is a joblib
    file under MODEL_ROOT whose sha256 is checked on every load."""

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        BROKEN = "broken", "Broken (artefact missing or changed)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="trained_models")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=20, blank=True, default="")
    algorithm = models.CharField(max_length=200, blank=True, default="")
    libraries = models.JSONField(default=dict, blank=True)
    codebook_version = models.PositiveIntegerField(default=1)
    train_size = models.PositiveIntegerField(default=0)
    label_counts = models.JSONField(default=dict, blank=True, help_text="{target: {label: n}}, frames: {frame: n}")
    metrics = models.JSONField(default=dict, blank=True)
    learning_curve = models.JSONField(default=list, blank=True)
    # Targets not trained and why ("needs 7 more labels", "one class only").
    untrained = models.JSONField(default=dict, blank=True)
    artefact_path = models.CharField(max_length=500, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="trained_model_unique_version"),
            models.UniqueConstraint(fields=["project"], condition=Q(is_active=True), name="trained_model_one_active"),
        ]

    def __str__(self) -> str:
        return f"model v{self.version} of {self.project_id} ({self.status})"


class ArticlePrediction(models.Model):
    """The active model's prediction for one article: per target label and probabilities, the
    frames, and `margin` (smallest top-1 minus top-2 probability over the targets: the
    uncertainty queue hands out the smallest first)."""

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="prediction")
    model = models.ForeignKey(TrainedModel, on_delete=models.CASCADE, related_name="predictions")
    stance = models.JSONField(default=dict, blank=True, help_text="{target: label}")
    probabilities = models.JSONField(default=dict, blank=True, help_text="{target: {label: p}}")
    frames = models.JSONField(default=list, blank=True)
    frame_probabilities = models.JSONField(default=dict, blank=True)
    primary_frame = models.CharField(max_length=200, blank=True, default="")
    margin = models.FloatField(null=True, blank=True)
    text_hash = models.CharField(max_length=64, blank=True, default="")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["model", "margin"], name="prediction_by_margin")]

    def __str__(self) -> str:
        return f"prediction for article {self.article_id} (model {self.model_id})"


class SuggestionExposure(models.Model):
    """Whether an assignment's annotator was shown the model's stance suggestions, and whose:
    recorded the first time the annotator's screen asks for them (exported with the annotation)."""

    assignment = models.OneToOneField(Assignment, primary_key=True, on_delete=models.CASCADE,
                                      related_name="suggestion_exposure")
    shown = models.BooleanField()
    reason = models.CharField(max_length=20, blank=True, default="", help_text="why not shown: off, withheld, …")
    model = models.ForeignKey(TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.PositiveIntegerField(null=True, blank=True)
    first_shown_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"suggestions {'shown' if self.shown else 'not shown'} for assignment {self.assignment_id}"


class ApiToken(models.Model):
    """A named API key (`Authorization: Token <key>`). Only the key's sha256 is stored, so a copy
    of the database holds no usable key; the key itself is shown once, when it is created
    (annotate.services.api_tokens)."""

    NAME_MAX_LENGTH = 100

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    key_hash = models.CharField(max_length=64, unique=True)
    # The key's first characters: enough to tell two tokens apart in a list, useless to an attacker.
    prefix = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "-id"], name="apitoken_by_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class StorySettings(models.Model):
    """A project's near-duplicate and story settings. Its own table, every field nullable: None
    means the default (annotate.services.stories.DEFAULTS), so projects need no row at all."""

    class DuplicatePolicy(models.TextChoices):
        ANNOTATE_ALL = "annotate_all", "Annotate every article"
        ONE_PER_GROUP = "one_per_group", "Annotate one per duplicate group, copy its labels on export"

    project = models.OneToOneField(Project, primary_key=True, on_delete=models.CASCADE, related_name="story_settings")
    duplicate_threshold = models.FloatField(null=True, blank=True)
    duplicate_policy = models.CharField(max_length=16, choices=DuplicatePolicy.choices, null=True, blank=True)
    story_window_days = models.PositiveIntegerField(null=True, blank=True)
    story_similarity = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"story settings of {self.project}"


class ArticleFingerprint(models.Model):
    """An article's content fingerprint (annotate.stories.fingerprint) and its duplicate group.

    `duplicate_of` is the group's first article (its representative; None for it and for
    articles with no near-duplicate). `held`: kept out of the annotation queue because the
    project annotates one article per duplicate group.
    """

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="fingerprint")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    text_hash = models.CharField(max_length=64)
    # None: too short to fingerprint (exact copies are still matched by text hash).
    signature = models.BinaryField(null=True)
    duplicate_of = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicate_fingerprints")
    similarity = models.FloatField(null=True, blank=True)
    held = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["project", "duplicate_of"], name="fingerprint_group"),
            models.Index(fields=["project", "text_hash"], name="fingerprint_by_text"),
        ]

    def __str__(self) -> str:
        return f"fingerprint of article {self.article_id}"


class DuplicateIndex(models.Model):
    """A project's LSH index of near-duplicate candidates: the band keys of every duplicate
    group's representative (annotate.stories.fingerprint), as two aligned little-endian int64
    arrays sorted by key. Only representatives are banded, so 10k copies of one text cost one
    set of keys.

    One row per project, read once and written once per import (the import holds its lock, so
    two imports into one project take turns): at 100k articles this is 1.6M keys, 26 MB, looked
    up with numpy's binary search. One table row per key measured 3× slower to write and read in
    the import's hot path. Rebuilt from the stored signatures by the stories task, which also
    drops the keys of deleted articles.
    """

    project = models.OneToOneField(Project, primary_key=True, on_delete=models.CASCADE, related_name="+")
    keys = models.BinaryField(default=bytes)
    article_ids = models.BinaryField(default=bytes)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"duplicate index of {self.project}"


class Story(models.Model):
    """One event reported by one or more articles. `manual`: set or edited by a person (the import's
    `story` field, a merge, a split, a rename); a recompute keeps manual stories as they are."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="stories")
    name = models.CharField(max_length=300, blank=True, default="")
    # The import's `story` value, for stories set by hand on import.
    key = models.CharField(max_length=255, null=True, blank=True)
    manual = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], condition=Q(key__isnull=False),
                                    name="story_unique_key_per_project"),
        ]

    def __str__(self) -> str:
        return self.name or f"story {self.pk}"


class StoryArticle(models.Model):
    """An article's story. `undated`: grouped by text alone (the article has no date)."""

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="story_link")
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="links")
    undated = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["story"], name="story_article_by_story")]

    def __str__(self) -> str:
        return f"article {self.article_id} in story {self.story_id}"
