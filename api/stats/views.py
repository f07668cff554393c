from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotate.selectors.stats import project_stats
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectDataReader


class AnnotatorStatsOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    assigned = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    time_spent_seconds = serializers.IntegerField()


class StatsOut(serializers.Serializer):
    articles = serializers.IntegerField()
    overlap = serializers.IntegerField()
    assignments = serializers.DictField(child=serializers.IntegerField())
    articles_by_progress = serializers.DictField(child=serializers.IntegerField())
    annotators = AnnotatorStatsOut(many=True)
    stance = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()),
                                   help_text="{target key: {label: count}} over submitted annotations")
    stance_by_source = serializers.DictField(
        child=serializers.DictField(child=serializers.DictField(child=serializers.IntegerField())),
        help_text="{source: {target key: {label: count}}}")
    frames = serializers.DictField(child=serializers.IntegerField())


class StatsView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=StatsOut, summary="Progress per status and annotator, label distributions")
    def get(self, request, project_id):
        return Response(StatsOut(project_stats(project=self.project)).data)
