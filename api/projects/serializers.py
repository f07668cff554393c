from __future__ import annotations

import markdown
import nh3
from rest_framework import serializers

from annotate.models import Membership


class TargetOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField()


class TargetIn(serializers.Serializer):
    key = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    position = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)


class ProjectOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    guidelines = serializers.CharField()
    guidelines_html = serializers.SerializerMethodField()
    label_schema = serializers.JSONField()
    targets = TargetOut(many=True, source="targets.all")
    overlap = serializers.IntegerField()
    assignment_timeout_minutes = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_guidelines_html(self, project) -> str:
        # Guidelines are written by project admins but shown to every annotator: sanitise.
        return nh3.clean(markdown.markdown(project.guidelines, extensions=["extra"]))


class ProjectListOut(ProjectOut):
    guidelines = None
    guidelines_html = None


class ProjectIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    # Well under DATA_UPLOAD_MAX_MEMORY_SIZE even at 4 bytes per character.
    guidelines = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    label_schema = serializers.JSONField(required=False)
    overlap = serializers.IntegerField(required=False, min_value=1, max_value=100)
    # A week: longer leases would let a closed tab hold an article for good.
    assignment_timeout_minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60)
    targets = TargetIn(many=True, required=False)


class ProjectPatchIn(ProjectIn):
    targets = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class MemberUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class MemberOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = MemberUserOut()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()


class MemberIn(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="username")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberPatchIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
