from __future__ import annotations

from rest_framework import serializers

from annotate.models import Project


class TrainedModelOut(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField(help_text="training | ready | failed | broken")
    is_active = serializers.BooleanField()
    stale = serializers.BooleanField(help_text="trained on another codebook version: gives no suggestions")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    trigger = serializers.CharField()
    algorithm = serializers.CharField()
    libraries = serializers.DictField(child=serializers.CharField())
    codebook_version = serializers.IntegerField()
    train_size = serializers.IntegerField()
    train_seconds = serializers.FloatField(allow_null=True)
    label_counts = serializers.JSONField(help_text='{"stance": {target: {label: n}}, "frames": {frame: n}}')
    metrics = serializers.JSONField(
        help_text="cross-validated: per target macro_f1, f_avg, f1 per label and the majority baseline on the "
                  "same folds; frames micro_f1/macro_f1; means f_avg, macro_f1, baseline_f_avg")
    learning_curve = serializers.JSONField(help_text="[{target, labels, score, baseline}]")
    untrained = serializers.DictField(child=serializers.CharField(),
                                      help_text='{target: why}, e.g. "needs 7 more labels for target x"')
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class TargetLabelsOut(serializers.Serializer):
    key = serializers.CharField()
    labels = serializers.IntegerField()
    needed = serializers.IntegerField()
    state = serializers.CharField()


class LabelStatusOut(serializers.Serializer):
    min_labels = serializers.IntegerField()
    targets = TargetLabelsOut(many=True)


class ModelSettingsOut(serializers.Serializer):
    min_labels = serializers.IntegerField()
    retrain_every = serializers.IntegerField()
    suggestions_enabled = serializers.BooleanField()
    prefill = serializers.BooleanField()
    withhold_share = serializers.FloatField()
    queue_order = serializers.CharField()
    queue_uncertainty_share = serializers.FloatField()


class ModelSettingsIn(serializers.Serializer):
    min_labels = serializers.IntegerField(required=False, min_value=2, max_value=1_000_000)
    retrain_every = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    suggestions_enabled = serializers.BooleanField(required=False)
    prefill = serializers.BooleanField(required=False)
    withhold_share = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    queue_order = serializers.ChoiceField(choices=Project.QUEUE_ORDERS, required=False)
    queue_uncertainty_share = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if isinstance(self.initial_data, dict) else set()
        if unknown:
            raise serializers.ValidationError({k: ["unknown setting"] for k in sorted(unknown)})
        return attrs


class ModelsOut(serializers.Serializer):
    active_version = serializers.IntegerField(allow_null=True)
    models = TrainedModelOut(many=True)
    labels = LabelStatusOut()
    settings = ModelSettingsOut()


class TrainQueuedOut(serializers.Serializer):
    queued = serializers.BooleanField(help_text="false: the broker refused it; try again")


class PredictionOut(serializers.Serializer):
    article = serializers.IntegerField(source="article_id")
    model_version = serializers.IntegerField(source="model.version")
    stance = serializers.DictField(child=serializers.CharField())
    probabilities = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    frames = serializers.ListField(child=serializers.CharField())
    frame_probabilities = serializers.DictField(child=serializers.FloatField())
    primary_frame = serializers.CharField()
    margin = serializers.FloatField(allow_null=True)
    computed_at = serializers.DateTimeField()


class StanceSuggestionOut(serializers.Serializer):
    label = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    probabilities = serializers.DictField(child=serializers.FloatField())


class FrameSuggestionOut(serializers.Serializer):
    frame = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)


class SuggestionsOut(serializers.Serializer):
    shown = serializers.BooleanField()
    reason = serializers.CharField(help_text="why none: off | withheld | no_model | stale | broken | no_prediction")
    prefill = serializers.BooleanField(help_text="the project pre-selects suggested stances and frames")
    model_version = serializers.IntegerField(allow_null=True)
    stance = serializers.DictField(child=StanceSuggestionOut(), help_text="{target key: suggestion}")
    frames = FrameSuggestionOut(many=True)
    primary_frame = serializers.CharField(allow_blank=True, help_text="the suggested primary frame, or empty")
