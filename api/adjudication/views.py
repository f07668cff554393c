"""Adjudication (reviewers and admins): the queue, one article side by side, decisions into gold,
bulk acceptance of unanimous articles and (re)computing majority gold."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from annotate.models import Article
from annotate.selectors.adjudication import adjudication_article, adjudication_queue, gold_out
from annotate.services import gold as gold_services
from api.base import ApiView, ProjectScopedMixin
from api.permissions import IsProjectReviewer

from .serializers import (
    BulkAcceptIn,
    BulkAcceptOut,
    DecideIn,
    GoldOut,
    GoldSpanWriteIn,
    MajorityOut,
    QueueItemOut,
    QueueParamsIn,
    SideBySideOut,
    VersionParamsIn,
)


class QueuePagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class ArticleScopedMixin(ProjectScopedMixin):
    def get_article(self) -> Article:
        return get_object_or_404(Article.objects.select_related("project"), pk=self.kwargs["article_id"],
                                 project_id=self.kwargs["project_id"])


class QueueView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]
    documents_400_on_get = True

    @extend_schema(
        parameters=[QueueParamsIn, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        # What get_paginated_response answers: LimitOffsetPagination's envelope, not a bare list.
        responses=inline_serializer("PaginatedQueueItemList", fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": QueueItemOut(many=True),
        }),
        summary="Articles to adjudicate (open: annotators disagree, no reviewer decision yet)",
    )
    def get(self, request, project_id):
        params = QueueParamsIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        items = adjudication_queue(project=self.project, state=params.validated_data["state"])
        paginator = QueuePagination()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(QueueItemOut(page, many=True).data)


class ArticleView(ArticleScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(responses=SideBySideOut, summary="One article's annotations side by side, majority and gold")
    def get(self, request, project_id, article_id):
        return Response(adjudication_article(article=self.get_article()).as_dict())


class DecideView(ArticleScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=DecideIn, responses=GoldOut, summary="Decide gold: pick one annotation, merge, or edit")
    def post(self, request, project_id, article_id):
        data = DecideIn(data=request.data)
        data.is_valid(raise_exception=True)
        d, article = data.validated_data, self.get_article()
        version = d.get("version")
        if d["method"] == "pick":
            gold = gold_services.gold_pick(article=article, annotation_id=d["annotation"], by=request.user,
                                           notes=d["notes"], version=version)
        elif d["method"] == "merge":
            gold = gold_services.gold_merge(
                article=article, by=request.user, stance_from=d.get("stance_from"),
                frames_from=d.get("frames_from"), span_ids=d.get("span_ids"), notes=d["notes"], version=version)
        else:
            gold = gold_services.gold_edit(
                article=article, by=request.user, stance=d["stance"], frames=d["frames"],
                primary_frame=d["primary_frame"], spans=d.get("spans", []), notes=d["notes"], version=version)
        return Response(GoldOut(gold_out(gold, article.text)).data)


class GoldView(ArticleScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=None, parameters=[VersionParamsIn],
                   responses={204: OpenApiResponse(description="Gold removed")},
                   summary="Undo the article's gold decision (it returns to the queue)")
    def delete(self, request, project_id, article_id):
        params = VersionParamsIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        gold_services.gold_delete(article=self.get_article(), by=request.user,
                                  version=params.validated_data.get("version"))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _written(gold, article) -> dict:
    return GoldOut(gold_out(gold, article.text)).data


class GoldSpansView(ArticleScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=GoldSpanWriteIn, responses={201: GoldOut},
                   summary="Add one span to the article's gold (any article; starts gold from the majority if none)")
    def post(self, request, project_id, article_id):
        data = GoldSpanWriteIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        article = self.get_article()
        gold, _span = gold_services.gold_span_add(article=article, by=request.user, fields=fields, version=version)
        return Response(_written(gold, article), status=status.HTTP_201_CREATED)


class GoldSpanView(ArticleScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=GoldSpanWriteIn, responses=GoldOut,
                   summary="Move, relabel or set the speaker or kind of one gold span")
    def patch(self, request, project_id, article_id, span_id):
        data = GoldSpanWriteIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version", None)
        article = self.get_article()
        gold, _span = gold_services.gold_span_update(article=article, span_id=span_id, by=request.user,
                                                     fields=fields, version=version)
        return Response(_written(gold, article))

    @extend_schema(request=None, parameters=[VersionParamsIn], responses=GoldOut,
                   summary="Remove one span from the article's gold")
    def delete(self, request, project_id, article_id, span_id):
        params = VersionParamsIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        article = self.get_article()
        gold = gold_services.gold_span_remove(article=article, span_id=span_id, by=request.user,
                                              version=params.validated_data.get("version"))
        return Response(_written(gold, article))


class AcceptUnanimousView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=BulkAcceptIn, responses=BulkAcceptOut,
                   summary="Accept every complete, unanimous article as gold")
    def post(self, request, project_id):
        data = BulkAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = gold_services.gold_accept_unanimous(
            project=self.project, by=request.user, article_ids=data.validated_data.get("article_ids"))
        return Response(BulkAcceptOut(result).data)


class MajorityView(ProjectScopedMixin, ApiView):
    permission_classes = [IsProjectReviewer]

    @extend_schema(request=None, responses=MajorityOut,
                   summary="(Re)compute majority gold where no reviewer decided")
    def post(self, request, project_id):
        return Response(MajorityOut(gold_services.gold_compute_majority(project=self.project)).data)
