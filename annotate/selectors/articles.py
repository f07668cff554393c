"""Article reads for admins, reviewers and exporters."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from annotate.models import Article, Assignment


def articles_for_project(*, project_id: int, with_text: bool = False) -> QuerySet[Article]:
    """Articles with their count of submitted assignments; the text (possibly megabytes per row)
    is deferred unless asked for, so list pages stay small."""
    qs = Article.objects.filter(project_id=project_id).annotate(
        assignments_submitted=Count("assignments", filter=Q(assignments__status=Assignment.Status.SUBMITTED)))
    return qs if with_text else qs.defer("text", "meta")
