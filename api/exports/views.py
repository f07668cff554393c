"""Export endpoints: start (202), list, status, download. Exporters, reviewers and admins (reviewers
read every annotation already; the Exports tab in /manage/ is theirs too)."""

from __future__ import annotations

from django.http import FileResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotate.exports import get_writer
from annotate.models import ExportJob
from annotate.selectors.exports import export_get, exports_for_project
from annotate.services.exports import export_download_path, export_request
from api.base import ApiMixin, ProjectScopedMixin
from api.permissions import IsProjectDataReader

from .serializers import ExportCreateIn, ExportOut

# A finished export never changes (a dataset version): the requester's browser may keep it, no
# shared cache may (the API's other answers are no-store: api.middleware).
DOWNLOAD_CACHE_CONTROL = "private, max-age=31536000, immutable"


@extend_schema_view(get=extend_schema(summary="The project's exports, newest first"))
class ProjectExportsView(ApiMixin, ProjectScopedMixin, generics.ListAPIView):

    permission_classes = [IsAuthenticated & IsProjectDataReader]
    serializer_class = ExportOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return ExportJob.objects.none()
        return exports_for_project(project_id=self.kwargs["project_id"])

    @extend_schema(request=ExportCreateIn,
                   responses={202: ExportOut, 400: OpenApiResponse(
                       description="`invalid` (a bad format or option, named in details) or `empty_selection` "
                                   "(the filters select no article; details.filters names them)")},
                   summary="Start an export (jsonl, conll2003, conllu, spacy); 202 with the queued job",
                   description="A background worker builds the file; poll the job, then download it. "
                               "If the task broker is down the job is still accepted (202, `queued`) "
                               "and sent to a worker once it is back. "
                               "Options (types and defaults: ExportOptions, annotate/exports/README.md) are "
                               "stored normalised on the job. Reference spans are people's only; "
                               "suggestions only with include_suggestions.")
    def post(self, request, project_id: int):
        data = ExportCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = export_request(project=self.project, by=request.user, **data.validated_data)
        return Response(ExportOut(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(summary="One export: status, progress, counts and sha256"))
class ExportDetailView(ApiMixin, generics.RetrieveAPIView):
    """Read-only: a job whose worker died, or whose message the broker never delivered, is put
    right by the periodic sweep (annotate.services.exports.exports_sweep), never by a read."""

    permission_classes = [IsAuthenticated & IsProjectDataReader]
    serializer_class = ExportOut

    def get_object(self):
        job = export_get(export_id=self.kwargs["pk"])
        self.check_object_permissions(self.request, job)
        return job


@extend_schema_view(get=extend_schema(summary="Download the finished file"))
class ExportDownloadView(ExportDetailView):
    """Streamed, with its sha256 as ETag (If-None-Match gives 304); 409 while the export is not done."""

    # One media type per format (jsonl; conll2003 and conllu are text; spaCy DocBin is a zip).
    @extend_schema(responses={(200, "application/jsonl"): bytes, (200, "text/plain"): bytes,
                              (200, "application/zip"): bytes, 304: None,
                              409: OpenApiResponse(description="not done yet")})
    def get(self, request, pk: int):
        job = self.get_object()
        path = export_download_path(job=job)
        etag = f'"{job.sha256}"'
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            # The same Cache-Control as the 200 (else the API's default no-store would tell the
            # browser to drop the copy it just revalidated).
            return HttpResponseNotModified(headers={"ETag": etag, "Cache-Control": DOWNLOAD_CACHE_CONTROL})
        response = FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name,
                                content_type=get_writer(job.format).media_type if not path.name.endswith(".zip")
                                else "application/zip")
        response["ETag"] = etag
        response["Cache-Control"] = DOWNLOAD_CACHE_CONTROL
        return response
