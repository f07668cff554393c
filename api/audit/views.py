"""The audit trail of a project's dataset decisions (annotate.services.audit)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from annotate.selectors.audit import audit_events_for
from annotate.services.audit import ACTIONS
from api.base import ApiMixin, ProjectScopedMixin
from api.pagination import DefaultCursorPagination
from api.permissions import IsProjectReviewer

from .serializers import AuditEventOut


class AuditListView(ProjectScopedMixin, ApiMixin, generics.ListAPIView):
    serializer_class = AuditEventOut
    pagination_class = DefaultCursorPagination  # newest first
    filter_backends: list = []
    permission_classes = [IsProjectReviewer]

    def get_queryset(self):
        return audit_events_for(project=self.project, action=self.request.query_params.get("action") or None)

    @extend_schema(
        summary="The project's audit trail, newest first (admins and reviewers)",
        description="Who changed gold, the codebook, memberships and assignments, when, with before/after. "
                    "Events outlive the objects and users they name.",
        parameters=[OpenApiParameter(
            "action", OpenApiTypes.STR,
            description="A full action name or a prefix ending in a dot (`gold.`). Actions: " + ", ".join(ACTIONS))])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
