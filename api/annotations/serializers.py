from __future__ import annotations

from rest_framework import serializers

from annotate.models import Assignment, Span

BIG = 2**62  # ids beyond this cannot exist; refusing them early keeps database errors out


class SpanOut(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.IntegerField(help_text="Code point offset, inclusive")
    end = serializers.IntegerField(help_text="Code point offset, exclusive")
    label = serializers.CharField()
    attrs = serializers.JSONField()
    origin = serializers.ChoiceField(choices=Span.Origin.choices)
    suggestion = serializers.IntegerField(allow_null=True)


class SuggestionOut(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    label = serializers.CharField()
    attrs = serializers.JSONField()
    origin = serializers.ChoiceField(choices=Span.Origin.choices)
    model_name = serializers.CharField()
    model_version = serializers.CharField()


class AnnotationOut(serializers.Serializer):
    id = serializers.IntegerField()
    assignment = serializers.IntegerField()
    version = serializers.IntegerField()
    stance = serializers.DictField(child=serializers.CharField())
    frames = serializers.ListField(child=serializers.CharField())
    primary_frame = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    spans = SpanOut(many=True)
    rejected_suggestions = serializers.ListField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class AnnotationListOut(AnnotationOut):
    annotator = serializers.DictField()
    article = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)


class SpanIn(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)
    start = serializers.IntegerField(min_value=0, max_value=BIG)
    end = serializers.IntegerField(min_value=0, max_value=BIG)
    label = serializers.CharField(max_length=64)
    attrs = serializers.DictField(required=False)
    origin = serializers.CharField(required=False, help_text="ignored: spans written by people are 'human'")
    suggestion = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)


class VersionIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=BIG,
                                       help_text="The annotation version this write is based on")


class AnnotationIn(VersionIn):
    stance = serializers.DictField(child=serializers.CharField(allow_null=True, allow_blank=True), required=False)
    frames = serializers.ListField(child=serializers.CharField(), required=False)
    primary_frame = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=100_000)
    spans = SpanIn(many=True, required=False)
    rejected_suggestions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIG), required=False)


class SpanCreateIn(VersionIn):
    start = serializers.IntegerField(min_value=0, max_value=BIG)
    end = serializers.IntegerField(min_value=0, max_value=BIG)
    label = serializers.CharField(max_length=64)
    attrs = serializers.DictField(required=False)
    suggestion = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)


class SpanPatchIn(VersionIn):
    start = serializers.IntegerField(required=False, min_value=0, max_value=BIG)
    end = serializers.IntegerField(required=False, min_value=0, max_value=BIG)
    label = serializers.CharField(required=False, max_length=64)
    attrs = serializers.DictField(required=False)


class AcceptIn(VersionIn):
    label = serializers.CharField(required=False, max_length=64, help_text="Relabel while accepting")
