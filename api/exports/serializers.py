"""Export API serializers: separate input and output classes (G3); no model writes here."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotate.exports import format_choices
from annotate.exports.base import LABEL_MODES, SPAN_LAYERS
from annotate.models import ExportJob


class ExportSplit(serializers.Serializer):
    """Documentation only (validation: annotate.exports.options)."""

    seed = serializers.IntegerField(required=False, default=0, min_value=0,
                                    help_text="Seed of the stratified draw (default 0); same seed + same data = same split.")
    train = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent; train + dev + test = 100.")
    dev = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    test = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent.")
    group_by = serializers.ChoiceField(
        choices=["story", "duplicate_group", "source"], required=False, allow_null=True,
        help_text="Keep whole groups in one part, so none straddles train/dev/test: `story`, `duplicate_group` "
                  "or `source` (outlet). Absent: `duplicate_group` when the project has near-duplicates, else "
                  "null (stratified by stance). The job's counts report the proportions achieved.")


class ExportOptions(serializers.Serializer):
    """The export options, their types and defaults (annotate/exports/README.md says the same).

    Documentation only: the options are validated once, by annotate.exports.options, so that
    REST, the CLI and the worker read them alike. Unknown keys are refused (400).
    """

    labels = serializers.ChoiceField(
        choices=LABEL_MODES, required=False, default="annotators",
        help_text="annotators: every annotation in `annotations`; gold: only articles with a Gold row; "
                  "majority: `gold` = the Gold row, else the majority over submitted annotations.")
    submitted_only = serializers.BooleanField(
        required=False, default=True, help_text="false adds drafts and articles nobody submitted.")
    published_from = serializers.DateField(required=False, allow_null=True, default=None,
                                           help_text="Inclusive YYYY-MM-DD (UTC). Default null: no lower bound.")
    published_to = serializers.DateField(required=False, allow_null=True, default=None,
                                         help_text="Inclusive YYYY-MM-DD (UTC). Default null: no upper bound.")
    targets = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True, default=None,
                                    help_text="Target keys to keep in every `stance`. Default null: all targets.")
    span_layer = serializers.ChoiceField(
        choices=SPAN_LAYERS, required=False, default="entities",
        help_text="The CoNLL-2003 tags and DocBin `doc.ents`: entities, or quotes (QUOTE + SPEAKER).")
    user_names = serializers.BooleanField(required=False, default=False,
                                          help_text="User names instead of stable 8-hex pseudonyms.")
    split = ExportSplit(required=False, allow_null=True, default=None,
                              help_text="Seeded train/dev/test split, stratified by stance. Default null: no split. "
                                        "All three parts are required and must sum to 100.")
    include_suggestions = serializers.BooleanField(
        required=False, default=False,
        help_text="Add the model/import suggestions as their own layer (JSONL `suggestions` with origin, "
                  "model name and version; CoNLL-U MISC `Suggestion=`/`SuggestedQuote=`/`SuggestedSpeaker=`; DocBin span group "
                  "`suggestions`); never as reference entities or CoNLL-2003 tags. false: JSONL "
                  "`suggestions` is null.")
    include_predictions = serializers.BooleanField(
        required=False, default=False,
        help_text="Add the active model's stance and frame predictions as their own layer (JSONL `predictions`: "
                  "model_version, stance, probabilities, frames, primary_frame; null for an article without one); "
                  "never mixed with human labels. false: no `predictions` key.")


@extend_schema_field(ExportOptions)
class ExportOptionsField(serializers.DictField):
    """A plain JSON object on the wire, documented as ExportOptions."""


class ExportCreateIn(serializers.Serializer):
    format = serializers.ChoiceField(choices=[], help_text="jsonl, conll2003, conllu or spacy (or a versioned name)")
    options = ExportOptionsField(required=False, default=dict,
                                 help_text="Export options; every one is optional (see ExportOptions).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = format_choices()


class ExportOut(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()
    options = ExportOptionsField(read_only=True, help_text="Every option the job used, defaults filled in.")

    class Meta:
        model = ExportJob
        fields = [
            "id", "project", "format", "options", "status", "progress", "total", "processed", "counts",
            "file_name", "size_bytes", "sha256", "error", "attempts", "nlp_pipeline", "codebook_version",
            "requested_by", "created_at", "started_at", "heartbeat_at", "finished_at", "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        url = reverse("export-download", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url
