"""Stories, near-duplicate groups and the outlet comparison (annotate.services.stories for writes,
annotate.selectors.stories for reads). Reading: admins, reviewers, exporters; writing: admins."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from annotate.errors import ValidationFailed
from annotate.selectors import stories as reads
from annotate.services import stories as writes
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectAdmin, IsProjectDataReader, ReadWrite

from . import serializers as s


class DataReadAdminWrite(ReadWrite):
    read, write = IsProjectDataReader, IsProjectAdmin


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", details={"body": ["not an object"]})
    return data


def _whole_number(request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not lo <= int(raw) <= hi:
        raise ValidationFailed(f"{name}: a whole number from {lo} to {hi}", details={name: [f"from {lo} to {hi}"]})
    return int(raw)


class StoryListView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=s.StoryListOut, summary="The project's stories, largest first",
                   operation_id="projects_stories_list",
                   parameters=[
                       OpenApiParameter("min_articles", OpenApiTypes.INT, description="Only stories with at least "
                                        "this many articles (default 1)."),
                       OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (default 200, ≤ 1000)."),
                       OpenApiParameter("offset", OpenApiTypes.INT, description="Skip this many (default 0)."),
                   ])
    def get(self, request, project_id):
        data = reads.stories_list(project=self.project,
                                  min_articles=_whole_number(request, "min_articles", 1, 1, 1_000_000),
                                  limit=_whole_number(request, "limit", 200, 1, 1000),
                                  offset=_whole_number(request, "offset", 0, 0, 10_000_000))
        return Response(s.StoryListOut(data).data)


class StoryDetailView(ProjectScopedMixin, ApiView):
    permission_classes = [DataReadAdminWrite]

    @extend_schema(responses=s.StoryOut, summary="One story with its articles")
    def get(self, request, project_id, story_id):
        return Response(s.StoryOut(reads.story_detail(project=self.project, story_id=story_id)).data)

    @extend_schema(request=s.StoryRenameIn, responses=s.StoryOut, summary="Rename a story (admins; makes it manual)")
    def patch(self, request, project_id, story_id):
        body = _object(request.data)
        if set(body) - {"name"} or "name" not in body:
            raise ValidationFailed("name: the only field, required", details={"name": ["required; the only field"]})
        writes.story_rename(project=self.project, story_id=story_id, name=body["name"], by=request.user)
        return Response(s.StoryOut(reads.story_detail(project=self.project, story_id=story_id)).data)


class StoryMergeView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=s.StoryMergeIn, responses=s.StoryOut,
                   summary="Merge stories into the first one named (admins)")
    def post(self, request, project_id):
        body = _object(request.data)
        story = writes.story_merge(project=self.project, story_ids=body.get("stories"), name=body.get("name"),
                                   by=request.user)
        return Response(s.StoryOut(reads.story_detail(project=self.project, story_id=story.pk)).data)


class StorySplitView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=s.StorySplitIn, responses={201: s.StoryOut},
                   summary="Move some of a story's articles into a new story (admins)")
    def post(self, request, project_id, story_id):
        body = _object(request.data)
        new = writes.story_split(project=self.project, story_id=story_id, article_ids=body.get("articles"),
                                 name=body.get("name"), by=request.user)
        return Response(s.StoryOut(reads.story_detail(project=self.project, story_id=new.pk)).data,
                        status=status.HTTP_201_CREATED)


class StoryRecomputeView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=None, responses={202: s.RecomputeOut},
                   summary="Regroup the articles into stories now (admins; a background task)",
                   description="Manual stories (set on import, merged, split or renamed) are kept as they are.")
    def post(self, request, project_id):
        return Response(s.RecomputeOut({"queued": writes.story_recompute_request(project=self.project,
                                                                               by=request.user)}).data,
                        status=status.HTTP_202_ACCEPTED)


class StoryCompareView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=s.CompareOut, summary="A story's outlets side by side: stance, frames, speakers, "
                                                    "shared quotes")
    def get(self, request, project_id, story_id):
        return Response(s.CompareOut(reads.story_compare(project=self.project, story_id=story_id)).data)


class StanceByOutletView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=s.StanceByOutletOut(many=True),
                   summary="Stance by outlet for the largest multi-article stories (the dashboard)")
    def get(self, request, project_id):
        return Response(s.StanceByOutletOut(reads.stance_by_outlet(project=self.project), many=True).data)


class StorySettingsView(ProjectScopedMixin, ApiView):
    permission_classes = [DataReadAdminWrite]

    @extend_schema(responses=s.StorySettingsSerializer, summary="Near-duplicate and story settings")
    def get(self, request, project_id):
        return Response(s.StorySettingsSerializer(writes.settings_for(self.project)).data)

    @extend_schema(request=s.StorySettingsSerializer, responses=s.StorySettingsSerializer,
                   summary="Change near-duplicate and story settings (admins; null = default)")
    def patch(self, request, project_id):
        after = writes.story_settings_update(project=self.project, data=_object(request.data), by=request.user)
        return Response(s.StorySettingsSerializer(after).data)


class DuplicateGroupsView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=s.DuplicateGroupOut(many=True), summary="Near-duplicate groups, largest first")
    def get(self, request, project_id):
        return Response(s.DuplicateGroupOut(writes.duplicate_groups(project=self.project), many=True).data)
