"""GET /api/v1/projects/{project_id}/agreement/ — inter-annotator agreement (reviewers, admins)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from annotate.agreement import agreement_report
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectReviewer

from .serializers import AgreementOut


class AgreementView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(responses=AgreementOut, summary="Agreement per target, frame, span label and against gold")
    def get(self, request, project_id):
        return Response(agreement_report(project=self.project).as_dict())
