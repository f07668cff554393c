from __future__ import annotations

from rest_framework import serializers

from annotate.models import Assignment
from api.annotations.serializers import BIG, AnnotationOut, SuggestionOut


class UserRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ArticleRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    source = serializers.CharField()


class ArticleFullOut(ArticleRefOut):
    url = serializers.CharField()
    published = serializers.DateTimeField(allow_null=True)
    meta = serializers.JSONField()
    text = serializers.CharField()


class AssignmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    article = ArticleRefOut()
    annotator = UserRefOut()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    skip_reason = serializers.CharField()
    assigned_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class AssignmentDetailOut(AssignmentOut):
    article = ArticleFullOut()
    annotation = AnnotationOut()
    suggestions = SuggestionOut(many=True, help_text="Those whose label is a span label of the project")
    hidden_suggestions = serializers.IntegerField(
        help_text="Suggestions of the article not shown because their label is not a span label of the project")


class ProgressOut(serializers.Serializer):
    assigned = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    available = serializers.IntegerField()
    total_articles = serializers.IntegerField()


class SkipIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class SubmitIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=BIG)
