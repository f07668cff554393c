"""Projects, their targets and members."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotate.selectors.projects import project_members, project_targets, projects_with_role
from annotate.services import memberships, projects
from annotate.services.codebook import codebook_plan, merge_patch
from api.base import ApiMixin, ApiView, ProjectScopedMixin
from api.pagination import IdCursorPagination
from api.permissions import IsProjectAdmin, IsStaffToCreate, MemberReadAdminWrite, ReviewerReadAdminWrite

from .serializers import (
    CodebookPreviewIn,
    CodebookPreviewOut,
    MemberIn,
    MemberOut,
    MemberPatchIn,
    ProjectIn,
    ProjectListOut,
    ProjectOut,
    ProjectPatchIn,
    ProjectPutIn,
    TargetIn,
    TargetOut,
)


def _project_out(request, project_id: int):
    return get_object_or_404(projects_with_role(user=request.user), pk=project_id)


@extend_schema_view(get=extend_schema(summary="Your projects, with your role in each",
                                      description="Superusers see every project."))
class ProjectListView(ApiMixin, generics.ListAPIView):
    who = {"GET": "any signed-in user (a project you are not a member of is not listed).",
           "POST": "staff users; others get 403."}

    serializer_class = ProjectListOut
    pagination_class = IdCursorPagination
    filter_backends: list = []
    permission_classes = [IsAuthenticated & IsStaffToCreate]

    def get_queryset(self):
        return projects_with_role(user=self.request.user)

    @extend_schema(request=ProjectIn, responses={201: ProjectOut}, summary="Create a project (staff users)",
                   description="With its targets and label schema (validated: 400 names the field path); "
                               "you become its admin.")
    def post(self, request):
        data = ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = projects.project_create(by=request.user, **data.validated_data)
        return Response(ProjectOut(_project_out(request, project.pk)).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectScopedMixin, ApiView):
    permission_classes = [MemberReadAdminWrite]

    @extend_schema(responses=ProjectOut, summary="One project: label schema, targets, guidelines, your role")
    def get(self, request, project_id):
        return Response(ProjectOut(_project_out(request, project_id)).data)

    @extend_schema(request=ProjectPatchIn, responses=ProjectOut,
                   summary="Change some of a project's settings (admins); label_schema is a JSON merge patch",
                   description="`label_schema` is merged into the current schema (RFC 7396); a label that "
                               "leaves it while in use needs `mappings` (409 label_in_use names it and its uses). "
                               "Any change of the schema bumps the codebook version and is audited.")
    def patch(self, request, project_id):
        data = ProjectPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        projects.project_update(project=self.project, by=request.user, **data.validated_data)
        return Response(ProjectOut(_project_out(request, project_id)).data)

    @extend_schema(request=ProjectPutIn, responses=ProjectOut,
                   summary="Replace a project's settings and label schema (admins)",
                   description="Fields not given take their defaults; targets are not touched.")
    def put(self, request, project_id):
        data = ProjectPutIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {**PUT_DEFAULTS, **data.validated_data}
        projects.project_update(project=self.project, by=request.user, replace=True, **fields)
        return Response(ProjectOut(_project_out(request, project_id)).data)

    @extend_schema(responses={204: None}, summary="Delete a project with all its articles and annotations")
    def delete(self, request, project_id):
        projects.project_delete(project=self.project)
        return Response(status=status.HTTP_204_NO_CONTENT)


PUT_DEFAULTS = {"description": "", "guidelines": "", "overlap": 2, "assignment_timeout_minutes": 60,
                "reopen_window_hours": None, "unreviewed_suggestions": None}


class CodebookPreviewView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    @extend_schema(request=CodebookPreviewIn, responses=CodebookPreviewOut,
                   summary="What a label schema change would migrate, without saving it (admins)",
                   description="Counts per removed label and place; `blocked` lists labels in use that the "
                               "change removes without a mapping (saving it would answer 409 label_in_use).")
    def post(self, request, project_id):
        data = CodebookPreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        schema = data.validated_data["label_schema"]
        if not data.validated_data["replace"]:
            schema = merge_patch(self.project.label_schema, schema)
        plan = codebook_plan(project=self.project, schema=schema, mappings=data.validated_data.get("mappings"))
        return Response(CodebookPreviewOut(plan.as_dict()).data)


class TargetListView(ProjectScopedMixin, ApiView):
    permission_classes = [MemberReadAdminWrite]

    @extend_schema(responses=TargetOut(many=True), summary="The stance targets of a project, in order")
    def get(self, request, project_id):
        return Response(TargetOut(project_targets(project_id=project_id), many=True).data)

    @extend_schema(request=TargetIn, responses={201: TargetOut},
                   summary="Add a stance target (409 if its key exists in the project)")
    def post(self, request, project_id):
        data = TargetIn(data=request.data)
        data.is_valid(raise_exception=True)
        target = projects.target_create(project=self.project, **data.validated_data)
        return Response(TargetOut(target).data, status=status.HTTP_201_CREATED)


class TargetDetailView(ProjectScopedMixin, ApiView):
    permission_classes = [MemberReadAdminWrite]

    def get_target(self, target_id):
        return get_object_or_404(project_targets(project_id=self.kwargs["project_id"]), pk=target_id)

    @extend_schema(responses=TargetOut, summary="One stance target")
    def get(self, request, project_id, target_id):
        return Response(TargetOut(self.get_target(target_id)).data)

    @extend_schema(request=TargetIn(partial=True), responses=TargetOut, summary="Change a target's key, name, description or position")
    def patch(self, request, project_id, target_id):
        target = self.get_target(target_id)
        data = TargetIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(TargetOut(projects.target_update(target=target, **data.validated_data)).data)

    @extend_schema(responses={204: None}, summary="Delete a target")
    def delete(self, request, project_id, target_id):
        projects.target_delete(target=self.get_target(target_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListView(ProjectScopedMixin, ApiView):
    permission_classes = [ReviewerReadAdminWrite]

    @extend_schema(responses=MemberOut(many=True), summary="The project's members and their roles")
    def get(self, request, project_id):
        return Response(MemberOut(project_members(project_id=project_id), many=True).data)

    @extend_schema(request=MemberIn, responses={201: MemberOut},
                   summary="Add a member by username, with a role (admin, reviewer, annotator, exporter)")
    def post(self, request, project_id):
        data = MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = memberships.membership_create(
            project=self.project, username=data.validated_data["user"], role=data.validated_data["role"],
            by=request.user)
        return Response(MemberOut(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]

    def get_membership(self, membership_id):
        return get_object_or_404(project_members(project_id=self.kwargs["project_id"]), pk=membership_id)

    @extend_schema(request=MemberPatchIn, responses=MemberOut, summary="Change a member's role")
    def patch(self, request, project_id, membership_id):
        membership = self.get_membership(membership_id)
        data = MemberPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        if "role" not in data.validated_data:  # a PATCH that changes nothing (RFC 5789 allows it)
            return Response(MemberOut(membership).data)
        return Response(MemberOut(memberships.membership_update(
            membership=membership, role=data.validated_data["role"], by=request.user)).data)

    @extend_schema(responses={204: None}, summary="Remove a member (409 for the project's last admin)")
    def delete(self, request, project_id, membership_id):
        memberships.membership_delete(membership=self.get_membership(membership_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


