"""GET /me/work/: the caller's submitted and skipped articles ("My work")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from annotate.models import Assignment
from annotate.selectors.mywork import my_work, reopen_state
from api.annotations.serializers import BIG
from api.base import ApiMixin
from api.pagination import DefaultCursorPagination
from api.tasks.serializers import ArticleRefOut


class ProjectRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MyWorkItemOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The assignment (open it at /assignments/{id}/)")
    project = ProjectRefOut()
    article = ArticleRefOut()
    status = serializers.ChoiceField(choices=[Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED])
    skip_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(help_text="When it was submitted or skipped")
    can_reopen = serializers.BooleanField(help_text="Whether you may reopen it yourself now")
    reopen_until = serializers.DateTimeField(allow_null=True, help_text="Until when you may (the project's window)")
    reopen_refusal = serializers.CharField(allow_null=True, help_text="Why you may not, when you may not")

    def to_representation(self, instance):
        # Decided by the same rule as the reopen itself (annotate.services.queue.reopen_refusal).
        for key, value in reopen_state(assignment=instance, user=self.context["request"].user).items():
            setattr(instance, key, value)
        return super().to_representation(instance)


class MyWorkQueryIn(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                              help_text="Part of the article's title or external id")
    project = serializers.IntegerField(required=False, min_value=1, max_value=BIG)
    status = serializers.ChoiceField(required=False, choices=[Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED])


class NewestFirst(DefaultCursorPagination):
    ordering = ("-closed_at", "-id")


@extend_schema_view(get=extend_schema(
    summary="My work: your submitted and skipped articles, newest first",
    parameters=[MyWorkQueryIn],
))
class MyWorkView(ApiMixin, generics.ListAPIView):
    """Every project you belong to; `q` searches the title and external id. Each entry says
    whether you may reopen it yourself (POST /assignments/{id}/reopen/) and until when."""

    who = "any signed-in user: their own assignments only."
    queryset = Assignment.objects.none()  # for the schema generator; get_queryset scopes it
    permission_classes = [IsAuthenticated]
    serializer_class = MyWorkItemOut
    pagination_class = NewestFirst
    filter_backends: list = []
    documents_400_on_get = True

    def get_queryset(self):
        query = MyWorkQueryIn(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return my_work(user=self.request.user, **query.validated_data)
