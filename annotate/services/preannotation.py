"""Pre-annotation service entry points (implemented with annotate.nlp)."""

from __future__ import annotations

from collections.abc import Sequence

from annotate.models import Project


def preannotation_queue(*, project: Project, article_ids: Sequence[int] | None = None, force: bool = False):
    """Queue pre-annotation of these articles (all pending ones of the project when None).

    Called after commit by the import service. Replaced by the real implementation in the
    pre-annotation issue; until then articles simply stay `pending`.
    """
    return None
