"""An assignment's annotation (optimistic locking on `version`), its spans, and suggestions."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from annotate.errors import ValidationFailed
from annotate.models import Annotation, Assignment
from annotate.selectors.annotations import (
    annotation_document,
    annotations_for_project,
    suggestion_dict,
    suggestions_for,
)
from annotate.selectors.queue import shown_suggestions
from annotate.services import annotations, spans
from api.base import ApiMixin, ApiView
from api.pagination import IdCursorPagination
from api.permissions import IsProjectDataReader
from api.tasks.views import ASSIGNMENT_READERS, ASSIGNMENT_WRITER, AssignmentMixin

from .serializers import (
    BIG,
    AcceptIn,
    AnnotationIn,
    AnnotationListOut,
    AnnotationOut,
    SpanCreateIn,
    SpanPatchIn,
    SuggestionOut,
    VersionIn,
)


def doc_response(annotation: Annotation, http_status=status.HTTP_200_OK) -> Response:
    """The annotation document (AnnotationOut's shape, built by the selector: rendered as is)."""
    return Response(annotation_document(annotation, spans=getattr(annotation, "current_spans", None)),
                    status=http_status)


class AnnotationView(AssignmentMixin, ApiView):
    """Every write carries the `version` it was based on and returns the new document (version + 1).
    A write based on an older version gets 409 `stale_write` with the current document in
    `details.current`, and changes nothing. Offsets are Unicode code points (Python `str`
    indices), not UTF-16 units."""

    who = {"GET": ASSIGNMENT_READERS, "PUT": ASSIGNMENT_WRITER, "PATCH": ASSIGNMENT_WRITER}

    @extend_schema(responses=AnnotationOut, summary="The annotation document")
    def get(self, request, assignment_id):
        return doc_response(self.get_assignment().annotation)

    def _write(self, request, assignment_id, *, replace: bool):
        # The service validates the body itself, field by field with paths (`spans[3].end`), and
        # checks who is asking under the row lock: an autosave is one locking read, not three.
        body = request.data
        if not isinstance(body, dict):
            raise ValidationFailed("body: must be a JSON object (the annotation document)",
                                   details={"non_field_errors": ["must be a JSON object"]})
        fields = {k: body[k] for k in annotations.DOC_FIELDS if k in body}  # others are read-only: ignored
        ann = annotations.annotation_update(assignment=assignment_id, by=request.user, version=body.get("version"),
                                            fields=fields, replace=replace)
        return doc_response(ann)

    @extend_schema(request=AnnotationIn, responses=AnnotationOut,
                   summary="Replace the whole document (autosave); 409 `stale_write` on an old version")
    def put(self, request, assignment_id):
        return self._write(request, assignment_id, replace=True)

    @extend_schema(request=AnnotationIn, responses=AnnotationOut,
                   summary="Change some fields; `version` required; 409 `stale_write` on an old version")
    def patch(self, request, assignment_id):
        return self._write(request, assignment_id, replace=False)


class SpanListView(AssignmentMixin, ApiView):
    """Offsets are checked against the article text (code points); the same span (start, end,
    label) twice is refused with 409."""

    who = ASSIGNMENT_WRITER

    @extend_schema(request=SpanCreateIn, responses={201: AnnotationOut},
                   summary="Add a span; returns the whole annotation (409 on a duplicate span)")
    def post(self, request, assignment_id):
        assignment = self.get_assignment()
        data = SpanCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        ann = spans.span_create(assignment=assignment, by=request.user, **data.validated_data)
        return doc_response(ann, status.HTTP_201_CREATED)


class SpanDetailView(AssignmentMixin, ApiView):
    who = ASSIGNMENT_WRITER

    @extend_schema(request=SpanPatchIn, responses=AnnotationOut, summary="Change one span")
    def patch(self, request, assignment_id, span_id):
        assignment = self.get_assignment()
        data = SpanPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = changes.pop("version")
        ann = spans.span_update(assignment=assignment, by=request.user, version=version, span_id=span_id,
                                changes=changes)
        return doc_response(ann)

    @extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, required=True,
                                     description="The annotation version this delete is based on")],
        request=None, responses={200: AnnotationOut}, summary="Delete one span; returns the whole annotation")
    def delete(self, request, assignment_id, span_id):
        assignment = self.get_assignment()
        data = VersionIn(data={"version": request.query_params.get("version")})
        data.is_valid(raise_exception=True)
        ann = spans.span_delete(assignment=assignment, by=request.user, version=data.validated_data["version"],
                                span_id=span_id)
        return doc_response(ann)


class SuggestionListView(AssignmentMixin, ApiView):
    @extend_schema(responses=SuggestionOut(many=True),
                   summary="Model and import suggestions for the article whose label is a span label of the project")
    def get(self, request, assignment_id):
        assignment = self.get_assignment()
        shown = shown_suggestions(suggestions_for(article_id=assignment.article_id),
                                  span_labels=assignment.project.span_labels)
        return Response(SuggestionOut([suggestion_dict(s) for s in shown], many=True).data)


class SuggestionAcceptView(AssignmentMixin, ApiView):
    """Copies the model's (or the import's) span into your annotation, linked to the suggestion."""

    who = ASSIGNMENT_WRITER

    @extend_schema(request=AcceptIn, responses={201: AnnotationOut},
                   summary="Accept (optionally relabel) a suggestion into the annotation")
    def post(self, request, assignment_id, span_id):
        assignment = self.get_assignment()
        data = AcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        ann = spans.suggestion_accept(assignment=assignment, by=request.user, suggestion_id=span_id,
                                      **data.validated_data)
        return doc_response(ann, status.HTTP_201_CREATED)


class SuggestionRejectView(AssignmentMixin, ApiView):
    """Recorded in your annotation's `rejected_suggestions`; other annotators are not affected."""

    who = ASSIGNMENT_WRITER

    @extend_schema(request=VersionIn, responses=AnnotationOut, summary="Reject a suggestion (for this annotator)")
    def post(self, request, assignment_id, span_id):
        assignment = self.get_assignment()
        data = VersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        ann = spans.suggestion_reject(assignment=assignment, by=request.user, suggestion_id=span_id,
                                      version=data.validated_data["version"])
        return doc_response(ann)


class AnnotationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="assignment__status", choices=Assignment.Status.choices)
    annotator = django_filters.NumberFilter(field_name="assignment__annotator_id", min_value=1, max_value=BIG)
    article = django_filters.NumberFilter(field_name="assignment__article_id", min_value=1, max_value=BIG)

    class Meta:
        model = Annotation
        fields = ["status", "annotator", "article"]


class AnnotationListItem(serializers.BaseSerializer):
    def to_representation(self, ann):
        doc = annotation_document(ann, spans=ann.spans.all())
        a = ann.assignment
        return {**doc, "annotator": {"id": a.annotator_id, "username": a.annotator.get_username()},
                "article": a.article_id, "status": a.status}


@extend_schema_view(get=extend_schema(summary="Every annotation in this project, with its annotator and status"))
class ProjectAnnotationListView(ApiMixin, generics.ListAPIView):
    """Cursor-paginated; filter by status, annotator or article."""

    queryset = Annotation.objects.none()  # for the schema generator; get_queryset scopes it
    permission_classes = [IsProjectDataReader]
    pagination_class = IdCursorPagination
    filterset_class = AnnotationFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    serializer_class = AnnotationListItem
    documents_400_on_get = True

    def get_queryset(self):
        return annotations_for_project(project_id=self.kwargs["project_id"])

    @extend_schema(responses=AnnotationListOut(many=True))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
