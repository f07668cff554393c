"""Repairs of stored poison (annotate/selectors/stored_poison.py) where a repair loses nothing a
reader could use: only the two article fields the UI and exports cannot use as stored."""

from __future__ import annotations

from django.db import transaction

from annotate.models import Article
from annotate.services.audit import audit_record


def article_repair_unreadable(*, article_id: int, url: bool = False, published: bool = False, by=None) -> None:
    """Clear a non-http(s) `url` (it could never be a link, and stays in the audit event) and/or
    an out-of-range `published` (below year 1 it cannot even be read; the value is not loaded).
    One transaction with its audit event; the article's text, meta and spans are untouched."""
    with transaction.atomic():
        row = Article.objects.select_for_update().filter(pk=article_id)
        project_id, old_url = row.values_list("project_id", "url").get()
        changes: dict = {}
        before: dict = {}
        if url:
            changes["url"], before["url"] = "", old_url
        if published:
            changes["published"], before["published"] = None, "out of range (not readable)"
        if not changes:
            return
        row.update(**changes)
        audit_record(project=project_id, by=by, action="article.repair", object_type="article",
                     object_id=article_id, before=before, after={k: v for k, v in changes.items()})
