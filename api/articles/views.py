"""Articles of a project (admins, reviewers, exporters) and the upload into the import service."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Case, CharField, Value, When
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import filters, generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotate.errors import ValidationFailed
from annotate.models import Article
from annotate.selectors.adjudication import disagreeing_article_ids
from annotate.selectors.articles import articles_for_project
from api.base import ApiMixin, ApiView, ProjectScopedMixin
from api.pagination import IdCursorPagination
from api.permissions import IsProjectAdmin, IsProjectDataReader


class ArticleOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    source = serializers.CharField()
    url = serializers.CharField()
    published = serializers.DateTimeField(allow_null=True)
    priority = serializers.IntegerField()
    preannotation_status = serializers.ChoiceField(choices=Article.Preannotation.choices)
    created_at = serializers.DateTimeField()
    assignments_submitted = serializers.IntegerField()


ANNOTATION_STATUSES = [("untouched", "untouched"), ("partial", "partial"), ("complete", "complete")]


def annotation_status(overlap: int) -> Case:
    """The one rule for an article's annotation status, used by the filter and the row alike:
    untouched when nobody submitted, complete at as many submissions as the project's overlap."""
    return Case(When(assignments_submitted=0, then=Value("untouched")),
                When(assignments_submitted__gte=overlap, then=Value("complete")),
                default=Value("partial"), output_field=CharField())


class ArticleListOut(ArticleOut):
    annotation_status = serializers.ChoiceField(
        choices=ANNOTATION_STATUSES, help_text="untouched: nobody submitted; complete: as many submissions as the "
                                               "project's overlap; else partial")
    disagreement = serializers.BooleanField(help_text="its submitted annotations differ")


class ArticleDetailOut(ArticleOut):
    text = serializers.CharField()
    meta = serializers.JSONField()


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC. Python accepts offsets up to ±23:59, PostgreSQL
    only up to ±15:59: `1108-05-12T08:05:07-20:41` was a 500 before it was normalised."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError:
                raise ValidationFailed(f"{self.field_name}: {value.isoformat()} is out of range",
                                       details={self.field_name: ["out of range"]}) from None
        return super().filter(qs, value)


@extend_schema_field(OpenApiTypes.BOOL)  # else the schema generator calls the filter's method to guess
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`, and a 400 for anything else: django-filter's BooleanFilter reads an
    unknown value as "no filter" and answers the whole list, which looks like an answer."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda v: v == "true")
        super().__init__(*args, **kwargs)


class ArticleFilter(django_filters.FilterSet):
    source = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(
        choices=ANNOTATION_STATUSES, method="by_status",
        help_text="untouched: nobody submitted; complete: as many submissions as the project's overlap")
    disagreement = StrictBooleanFilter(
        method="by_disagreement", help_text="the submitted annotations differ (stance, frames, primary frame or spans)")
    preannotation_status = django_filters.ChoiceFilter(choices=Article.Preannotation.choices)
    published_after = UtcDateTimeFilter(field_name="published", lookup_expr="gte")
    published_before = UtcDateTimeFilter(field_name="published", lookup_expr="lt")
    has_gold = StrictBooleanFilter(field_name="gold", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Article
        fields = ["source", "preannotation_status", "published_after", "published_before", "has_gold", "status",
                  "disagreement"]

    def by_status(self, qs, name, value):
        return qs.filter(annotation_status=value)  # annotated by the view: `annotation_status`

    def by_disagreement(self, qs, name, value):
        # the URL names the project (the view scopes the queryset to it)
        ids = disagreeing_article_ids(project=self.request.resolver_match.kwargs["project_id"])
        return qs.filter(pk__in=ids) if value else qs.exclude(pk__in=ids)


@extend_schema_view(get=extend_schema(summary="The project's articles (without text): filter, search, order"))
class ArticleListView(ProjectScopedMixin, ApiMixin, generics.ListAPIView):
    """Filters: `source`, `preannotation_status`, `published_after` / `published_before`, `has_gold`,
    `status` (untouched | partial | complete), `disagreement`;
    `search` in title, external id and text; `ordering` by id, priority or published.
    Cursor-paginated."""

    queryset = Article.objects.none()  # for the schema generator; get_queryset scopes it
    permission_classes = [IsProjectDataReader]
    serializer_class = ArticleListOut
    pagination_class = IdCursorPagination
    filterset_class = ArticleFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, filters.SearchFilter,
                       filters.OrderingFilter]
    search_fields = ["title", "external_id", "text"]
    ordering_fields = ["id", "priority", "published"]
    documents_400_on_get = True

    def get_queryset(self):
        return articles_for_project(project_id=self.kwargs["project_id"]).annotate(
            annotation_status=annotation_status(self.project.overlap))

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:  # one comparison for the page's articles, not one per row
            disagreeing = disagreeing_article_ids(project=self.project, article_ids=[a.pk for a in page])
            for a in page:
                a.disagreement = a.pk in disagreeing
        return page


class ArticleDetailView(ApiView):
    permission_classes = [IsProjectDataReader]

    @extend_schema(responses=ArticleDetailOut, summary="One article with its text and metadata")
    def get(self, request, project_id, article_id):
        qs = articles_for_project(project_id=project_id, with_text=True)
        return Response(ArticleDetailOut(get_object_or_404(qs, pk=article_id)).data)


class ImportIn(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=["auto", "jsonl", "csv", "txt", "labelstudio"], default="auto")
    skip_invalid = serializers.BooleanField(default=False)


class DuplicateFoundOut(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True)
    article_id = serializers.IntegerField()
    id = serializers.CharField()
    duplicate_of = serializers.IntegerField(help_text="Article id of its duplicate group's first article.")
    duplicate_of_id = serializers.CharField(help_text="That article's external id (else its database id).")
    similarity = serializers.FloatField(help_text="Estimated Jaccard similarity of their word shingles.")


class ImportReportOut(serializers.Serializer):
    format = serializers.CharField()
    records = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.ListField(child=serializers.JSONField())
    invalid = serializers.ListField(child=serializers.JSONField())
    invalid_count = serializers.IntegerField()
    gold_imported = serializers.IntegerField(help_text="articles whose `gold` was stored (method `imported`)")
    gold_kept = serializers.ListField(child=serializers.JSONField(),
                                      help_text="records whose gold was not stored: a reviewer's gold is kept")
    duplicates = DuplicateFoundOut(many=True, help_text="New articles that near-duplicate an existing one (first 1,000).")
    duplicates_count = serializers.IntegerField()
    stories_set = serializers.IntegerField(help_text="Articles whose `story` field set their story by hand.")


class ArticleImportView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportIn}, responses={201: ImportReportOut},
                   summary="Upload articles (JSONL, CSV, txt zip, doccano, Label Studio); all or nothing")
    def post(self, request, project_id):
        from annotate.services.imports import articles_import

        data = ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        report = articles_import(project=self.project, source=upload, filename=upload.name,
                                 fmt=data.validated_data["format"], skip_invalid=data.validated_data["skip_invalid"],
                                 by=request.user)
        return Response(ImportReportOut(report.as_dict()).data, status=status.HTTP_201_CREATED)
