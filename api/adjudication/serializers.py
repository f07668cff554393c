"""Adjudication input and output serializers (inputs validate shape; the gold service validates
against the project's schema and the article text)."""

from __future__ import annotations

from rest_framework import serializers

from annotate.selectors.adjudication import QUEUE_STATES

BIG = 2**62  # ids beyond bigint are not ids: a clean 400 instead of a database overflow


class QueueParamsIn(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=QUEUE_STATES, default="open", required=False,
        help_text="open: annotators disagree; unanimous; few: one submitted annotation or none; "
                  "decided: a reviewer decided; all")


class AdjudicationUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class QueueGoldOut(serializers.Serializer):
    method = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)


class QueueItemOut(serializers.Serializer):
    article_id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    source = serializers.CharField()
    submitted = serializers.IntegerField(help_text="submitted annotations")
    overlap = serializers.IntegerField(help_text="annotators wanted per article")
    annotators = AdjudicationUserOut(many=True)
    disagreements = serializers.ListField(
        child=serializers.CharField(), help_text="stance:<target key>, frames, primary_frame, spans")
    gold = QueueGoldOut(allow_null=True)


class GoldSpanIn(serializers.Serializer):
    start = serializers.IntegerField(min_value=0, max_value=BIG)
    end = serializers.IntegerField(min_value=1, max_value=BIG)
    label = serializers.CharField(max_length=64)
    attrs = serializers.DictField(required=False, default=dict)
    id = serializers.IntegerField(required=False, min_value=1, max_value=BIG,
                                  help_text="a span of this article's gold: it keeps its provenance")
    from_span = serializers.IntegerField(
        required=False, min_value=1, max_value=BIG,
        help_text="the submitted annotation's span or the suggestion this span was taken from (provenance)")


VERSION = dict(required=False, allow_null=True, min_value=0, max_value=BIG,
               help_text="the gold version this write is based on (0: no gold yet); an older one gets 409 "
                         "stale_write. Leave out to write whatever is there (one write at a time).")


class GoldSpanWriteIn(serializers.Serializer):
    """One gold span. `attrs` replaces the attributes; `kind`, `speaker` and `speaker_span` set
    one quote attribute each (null removes it). On create start, end and label are required."""

    version = serializers.IntegerField(**VERSION)
    start = serializers.IntegerField(required=False, min_value=0, max_value=BIG)
    end = serializers.IntegerField(required=False, min_value=0, max_value=BIG)
    label = serializers.CharField(required=False, max_length=64)
    attrs = serializers.DictField(required=False)
    kind = serializers.CharField(required=False, allow_null=True, help_text="direct, partial or scare")
    speaker = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    speaker_span = serializers.DictField(required=False, allow_null=True, help_text="{start, end} or null")
    from_span = serializers.IntegerField(
        required=False, min_value=1, max_value=BIG,
        help_text="create only: the submitted annotation's span or the suggestion it is taken from")

    def validate(self, attrs):
        if not self.partial:
            missing = {k: ["required"] for k in ("start", "end", "label") if k not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
        elif "from_span" in attrs:
            raise serializers.ValidationError({"from_span": ["only when adding a span"]})
        return attrs


class VersionParamsIn(serializers.Serializer):
    version = serializers.IntegerField(**VERSION)


class DecideIn(serializers.Serializer):
    """`pick`: annotation. `merge`: any of stance_from, frames_from, span_ids (the rest is the
    majority). `edit`: stance, frames, primary_frame, spans written as given."""

    method = serializers.ChoiceField(choices=["pick", "merge", "edit"])
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    annotation = serializers.IntegerField(required=False, min_value=1, max_value=BIG)
    stance_from = serializers.DictField(child=serializers.IntegerField(min_value=1, max_value=BIG), required=False)
    frames_from = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=BIG)
    span_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=BIG), required=False,
                                     max_length=10_000)
    stance = serializers.DictField(child=serializers.CharField(allow_null=True), required=False)
    frames = serializers.ListField(child=serializers.CharField(), required=False, max_length=500)
    primary_frame = serializers.CharField(required=False, allow_blank=True, default="")
    spans = GoldSpanIn(many=True, required=False)
    version = serializers.IntegerField(**VERSION)

    def validate(self, attrs):
        method = attrs["method"]
        if method == "pick" and "annotation" not in attrs:
            raise serializers.ValidationError({"annotation": ["required to pick an annotation"]})
        if method == "edit":
            missing = {k: ["required for edit"] for k in ("stance", "frames") if k not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class BulkAcceptIn(serializers.Serializer):
    article_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIG), required=False, max_length=10_000,
        help_text="restrict to these articles; default: every unanimous article")


class BulkAcceptOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    not_unanimous = serializers.IntegerField()
    article_ids = serializers.ListField(child=serializers.IntegerField())


class MajorityOut(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    removed = serializers.IntegerField()
    no_majority = serializers.IntegerField()


class GoldSpanOut(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    label = serializers.CharField()
    attrs = serializers.DictField()
    origin = serializers.CharField()
    text = serializers.CharField()
    provenance = serializers.DictField(
        help_text='{"from": "annotation"|"suggestion"|"consensus"|"adjudicator", "annotation"?: id, '
                  '"suggestion"?: id}: where the span came from (an adjudicator\'s change keeps the source id)')


class GoldOut(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    version = serializers.IntegerField(help_text="bumped by every write; send it back to detect a concurrent change")
    stance = serializers.DictField(child=serializers.CharField())
    frames = serializers.ListField(child=serializers.CharField())
    primary_frame = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField()
    spans = GoldSpanOut(many=True)


class SideBySideOut(serializers.Serializer):
    article = serializers.DictField(help_text="id, external_id, title, source, url, published, text, project")
    targets = serializers.ListField(child=serializers.DictField(), help_text="[{key, name, description}]")
    label_schema = serializers.DictField()
    annotations = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{id, annotator {id, username}, stance, frames, primary_frame, notes, submitted_at, spans}]")
    disagreements = serializers.ListField(child=serializers.CharField())
    comparison = serializers.DictField(
        help_text="stance {key: {agree, labels {annotation id: label}}}, frames {agree, votes}, "
                  "primary_frame {agree, labels}, spans [{start, end, label, text, annotations, all_agree}]")
    majority = serializers.DictField(help_text="stance, frames, primary_frame, spans: what majority gold would be")
    gold = GoldOut(allow_null=True)
    suggestions = serializers.ListField(
        child=serializers.DictField(), help_text="the model's and the import's spans [{id, start, end, label, attrs, "
                                                 "origin, text}], to take into gold with from_span")
