"""The task queue and assignments: next, progress, list, detail, skip, submit, reopen."""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from annotate.errors import PermissionDeniedError
from annotate.models import Assignment
from annotate.selectors.membership import project_role
from annotate.selectors.queue import (
    SEE_ALL,
    assignment_detail,
    assignment_visible,
    assignments_visible_to,
    progress_for,
)
from annotate.services import annotations, queue
from api.annotations.serializers import BIG
from api.base import ApiMixin, ApiView, ProjectScopedMixin
from api.pagination import IdCursorPagination
from api.permissions import IsProjectWorker

from .serializers import AssignmentDetailOut, AssignmentOut, ProgressOut, SkipIn, SubmitIn

# Who may call the /assignments/{id}/ operations (the docs' "Who may call"; the services decide).
ASSIGNMENT_READERS = ("its annotator, or a reviewer or admin of its project (site superusers too). Anyone else "
                      "gets 404: blind annotation, other annotators cannot tell the assignment exists.")
ASSIGNMENT_WRITER = ("its annotator only (the annotation is theirs). Reviewers and admins of the project get "
                     "403 `not_assigned`; anyone else gets 404.")


def detail_response(assignment: Assignment | int, http_status=status.HTTP_200_OK) -> Response:
    """AssignmentDetailOut's shape, built by the selector and rendered as is. Pass the assignment
    itself when its article, annotator and annotation are loaded (one query fewer)."""
    if isinstance(assignment, Assignment):
        return Response(assignment_detail(assignment=assignment), status=http_status)
    return Response(assignment_detail(assignment_id=assignment), status=http_status)


# One transaction for the whole request: authentication at its start (token or session) also
# locks the caller's user row (`locks_caller`), which the queue needs anyway (one round trip less).
@method_decorator(transaction.atomic, name="dispatch")
class NextView(ProjectScopedMixin, ApiView):
    """Your unfinished assignment in this project comes back first (its lease renewed). Otherwise
    you get a new one: the first article in queue order (priority, then import order) that you
    never had and that has fewer than the project's `overlap` active assignments; it is yours
    until you submit or skip it, or until it sits idle longer than the project's
    `assignment_timeout_minutes` without saved work. Safe to call twice (a double click gives the
    same assignment). 204 when nothing is left for you."""

    permission_classes = [IsProjectWorker]
    locks_caller = True

    @extend_schema(
        request=None,
        responses={200: AssignmentDetailOut, 204: OpenApiResponse(description="Nothing left for you in this project")},
        summary="The caller's next assignment (their unfinished one first)",
    )
    def post(self, request, project_id):
        assignment = queue.assignment_next(project=self.project, user=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        assignment.project = self.project  # the suggestions shown depend on its span labels: no query for it
        return detail_response(assignment)


class ProgressView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectWorker]

    @extend_schema(responses=ProgressOut, summary="The caller's progress in this project",
                   description="Your assignments by status, and how many articles are still available to you.")
    def get(self, request, project_id):
        return Response(ProgressOut(progress_for(user=request.user, project=self.project)).data)


class AssignmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Assignment.Status.choices)
    annotator = django_filters.NumberFilter(field_name="annotator_id", min_value=1, max_value=BIG)
    article = django_filters.NumberFilter(field_name="article_id", min_value=1, max_value=BIG)

    class Meta:
        model = Assignment
        fields = ["status", "annotator", "article"]


@extend_schema_view(get=extend_schema(summary="Assignments in this project (annotators: their own)"))
class AssignmentListView(ProjectScopedMixin, ApiMixin, generics.ListAPIView):
    """Annotators see their own assignments only; reviewers and admins see all. Filter by
    `status`, `annotator`, `article`; cursor-paginated."""

    queryset = Assignment.objects.none()  # for the schema generator; get_queryset scopes it
    permission_classes = [IsProjectWorker]
    serializer_class = AssignmentOut
    pagination_class = IdCursorPagination
    filterset_class = AssignmentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    documents_400_on_get = True

    def get_queryset(self):
        return (assignments_visible_to(user=self.request.user, project=self.kwargs["project_id"])
                .select_related("article", "annotator").defer("article__text", "article__meta"))


class AssignmentMixin:
    """Resolves /assignments/{assignment_id}/: 404 unless the caller is its annotator or a
    reviewer/admin of its project (blind annotation: other annotators cannot tell it exists)."""

    who = ASSIGNMENT_READERS

    def get_assignment(self) -> Assignment:
        assignment = assignment_visible(user=self.request.user, assignment_id=self.kwargs["assignment_id"])
        if assignment is None:
            raise NotFound()
        return assignment

    def require_reviewer(self, assignment: Assignment) -> None:
        if project_role(user=self.request.user, project=assignment.project_id) not in SEE_ALL:
            raise PermissionDeniedError("Only reviewers and admins of the project may do this.")


class AssignmentDetailView(AssignmentMixin, ApiView):
    @extend_schema(responses=AssignmentDetailOut, summary="Article, annotation and suggestions of one assignment")
    def get(self, request, assignment_id):
        return detail_response(self.get_assignment())  # loaded with article, annotator, annotation


class SkipView(AssignmentMixin, ApiView):
    """The article goes back to the queue for others; you never get it again."""

    who = ("its annotator, or a reviewer or admin of its project (site superusers too); anyone else "
           "gets 404.")

    @extend_schema(request=SkipIn, responses=AssignmentDetailOut,
                   summary="Skip with a reason (own assignment; reviewers/admins: anyone's)")
    def post(self, request, assignment_id):
        assignment = self.get_assignment()
        if assignment.annotator_id != request.user.pk:
            self.require_reviewer(assignment)
        data = SkipIn(data=request.data)
        data.is_valid(raise_exception=True)
        queue.assignment_skip(assignment=assignment, reason=data.validated_data["reason"], by=request.user)
        return detail_response(assignment.pk)


class SubmitView(AssignmentMixin, ApiView):
    """Checks completeness first: every target has a stance, and frames as the project's schema
    requires (400 `incomplete`, naming each missing field). A submitted assignment is read-only
    until a reviewer reopens it."""

    who = ASSIGNMENT_WRITER

    @extend_schema(request=SubmitIn, responses=AssignmentDetailOut,
                   summary="Submit: validates completeness (400 `incomplete`) and closes the assignment")
    def post(self, request, assignment_id):
        # Who is asking, the version and completeness are checked by the service under the lock.
        version = request.data.get("version") if isinstance(request.data, dict) else None
        assignment = annotations.annotation_submit(assignment=assignment_id, by=request.user, version=version)
        return detail_response(assignment)


class ReopenView(AssignmentMixin, ApiView):
    """The annotator gets it back first from `next`, with their work as it was. Its annotator may
    reopen their own submission within the project's `reopen_window_hours` of submitting
    (default 24; 0: only reviewers may); otherwise 403 `permission_denied` with the reason in
    `message` and `details.reason`."""

    who = ("its annotator, or a reviewer or admin of its project (site superusers too): reviewers and "
           "admins any submitted or skipped assignment, its annotator only their own submission within the "
           "project's reopen window (403 with the reason outside it); anyone else gets 404.")

    @extend_schema(request=None, responses=AssignmentDetailOut, summary="Reopen a submitted/skipped assignment")
    def post(self, request, assignment_id):
        assignment = self.get_assignment()
        # Who may, and until when, is the service's decision (the same for reviewers and annotators).
        queue.assignment_reopen(assignment=assignment, by=request.user)
        return detail_response(assignment.pk)
