"""Export API serializers: separate input and output classes (G3); no model writes here."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from annotate.exports import format_choices
from annotate.models import ExportJob


class ExportCreateIn(serializers.Serializer):
    format = serializers.ChoiceField(choices=[], help_text="jsonl, conll2003, conllu or spacy (or a versioned name)")
    options = serializers.DictField(
        required=False, default=dict,
        help_text='labels (annotators|gold|majority), submitted_only, published_from, published_to, targets, '
                  'span_layer (entities|quotes), user_names, split {"seed", "train", "dev", "test"}',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = format_choices()


class ExportOut(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

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
