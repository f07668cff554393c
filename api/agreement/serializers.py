"""Output shape of the agreement report (documentation for the OpenAPI schema; the report itself
is built as plain JSON-ready data by annotate.agreement)."""

from __future__ import annotations

from rest_framework import serializers


class AgreementOut(serializers.Serializer):
    project = serializers.IntegerField()
    computed_at = serializers.CharField()
    articles = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="total, with_submissions, compared (≥2 submitted annotations), single_annotator_excluded")
    annotators = serializers.ListField(child=serializers.DictField(), help_text="[{id, username}]")
    stance = serializers.ListField(
        child=serializers.DictField(),
        help_text="per target: target, name, level (nominal|ordinal), items, single_label_excluded, alpha, "
                  "alpha_nominal, fleiss_kappa, percent_agreement, cohen_kappa_pairs [{a, b, kappa}], "
                  "cohen_kappa_mean, label_counts; every figure is a Metric {value, items, reason}")
    frames = serializers.DictField(
        help_text="items, mean_jaccard, primary_frame_alpha, per_frame [{frame, chosen, alpha}]")
    spans = serializers.DictField(
        help_text="items, per_label [{label, spans, exact_f1, overlap_f1}], pairs [{a, b, exact_f1, overlap_f1}]")
    vs_gold = serializers.ListField(
        child=serializers.DictField(),
        help_text="per annotator: annotator, username, items, stance {target: {accuracy, kappa}}, "
                  "frames_jaccard, spans_exact_f1, spans_overlap_f1")


class ThroughputAnnotatorOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    submitted = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    mean_seconds = serializers.FloatField(allow_null=True)
    last_submitted_at = serializers.DateTimeField(allow_null=True)
    per_day = serializers.ListField(child=serializers.IntegerField(), help_text="aligned with `days`")


class ThroughputOut(serializers.Serializer):
    days = serializers.ListField(child=serializers.DateField())
    annotators = ThroughputAnnotatorOut(many=True)


class ThroughputIn(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=366, default=14, required=False)
