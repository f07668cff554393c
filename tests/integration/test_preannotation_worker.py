"""Import → pre-annotation on a real Celery worker process (PostgreSQL + Redis)."""

import pytest

from annotate.models import Article, Span
from annotate.services.imports import articles_import
from tests.conftest import ROOT, wait_for
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.slow]


def test_imported_articles_get_suggestions_from_the_worker(celery_worker):
    project = ProjectFactory()
    report = articles_import(project=project, source=ROOT / "annotate" / "demo_data" / "seed_articles.jsonl")
    assert report.created == 5

    def all_done():
        return Article.objects.filter(project=project, preannotation_status="done").count() == 5

    wait_for(all_done, timeout=180, interval=0.5)
    quotes = Span.objects.filter(article__project=project, label="QUOTE", origin="model")
    assert quotes.count() == 18
    assert Span.objects.filter(article__project=project, label="PERSON", origin="model").exists()
    assert "annotate.preannotate_chunk" in celery_worker.log_path.read_text()
