"""Figures for reviewers and admins: inter-annotator agreement and annotator throughput."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from annotate.agreement import agreement_report_cached
from annotate.selectors.throughput import annotator_throughput
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectReviewer

from .serializers import AgreementOut, ThroughputIn, ThroughputOut


class AgreementView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(responses=AgreementOut, summary="Agreement per target, frame, span label and against gold")
    def get(self, request, project_id):
        return Response(agreement_report_cached(project=self.project))


class ThroughputView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]
    documents_400_on_get = True

    @extend_schema(parameters=[ThroughputIn], responses=ThroughputOut,
                   summary="Per annotator: submissions per day and median time per article")
    def get(self, request, project_id):
        params = ThroughputIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(ThroughputOut(annotator_throughput(project=self.project, **params.validated_data)).data)
