"""`manage.py check_data`: finds poison stored before the input boundary (inserted here directly,
around the services, as old code or raw SQL did) by id and field, exits non-zero, and with
`--fix` clears only what can be cleared safely."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from annotate.models import Annotation, Article, AuditEvent, ExportJob, Span
from tests.factories import ArticleFactory, ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def run(*args) -> tuple[list[str], str | None]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("check_data", *args, stdout=out)
        failure = None
    except CommandError as exc:
        failure = str(exc)
    return out.getvalue().splitlines(), failure


def set_published_raw(article_id: int) -> None:
    on_pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        # Year 1 at +01:00 is 1 BC in UTC: what the old import stored, and what no read survives.
        cursor.execute(f"UPDATE {Article._meta.db_table} SET published = %s WHERE id = %s",
                       ["0001-01-01 00:00:00+01:00" if on_pg else "0001-01-01 00:00:00", article_id])


@pytest.fixture
def poisoned():
    project = ProjectFactory(slug="poisoned")
    clean = ProjectFactory(slug="clean")
    ArticleFactory(project=clean, url="https://example.org/fine")
    a_deep, a_int, a_url, a_date = (ArticleFactory(project=project) for _ in range(4))
    Article.objects.filter(pk=a_deep.pk).update(meta={"ok": 1, "nested": deep(300)})
    Article.objects.filter(pk=a_int.pk).update(meta={"n": 2**64})
    Article.objects.filter(pk=a_url.pk).update(url="javascript:alert(document.cookie)")
    set_published_raw(a_date.pk)
    span = SpanFactory(article=a_int, start=0, end=4, label="PERSON")
    Span.objects.filter(pk=span.pk).update(attrs={"kind": deep(100)})
    job = ExportJob.objects.create(project=project, format="jsonl.v1",
                                   options={"split": {"seed": 2**80, "train": 80, "dev": 10, "test": 10}})
    return {"project": project, "deep": a_deep, "int": a_int, "url": a_url, "date": a_date, "span": span, "job": job}


def test_check_data_reports_each_poisoned_row_by_id_and_field_and_exits_non_zero(poisoned):
    p = poisoned
    lines, failure = run()
    assert failure is not None and failure.startswith("6 problem(s) found")
    report = "\n".join(lines)
    assert f"article {p['deep'].pk} (project poisoned): meta.nested.x.x" in report
    assert f"article {p['int'].pk} (project poisoned): meta.n: integer 18446744073709551616 is outside" in report
    assert f"article {p['url'].pk} (project poisoned): url: 'javascript:alert(document.cookie)': scheme" in report
    assert f"article {p['date'].pk} (project poisoned): published: year" in report
    assert f"span {p['span'].pk} (project poisoned): attrs.kind.x" in report
    assert any(line.startswith(f"exportjob {p['job'].pk} (project poisoned): options.split") for line in lines)
    assert len(lines) == 6


def test_check_data_scoped_to_a_clean_project_finds_nothing_and_exits_zero(poisoned):
    lines, failure = run("--project", "clean")
    assert failure is None
    assert lines == ["no stored data that breaks reads"]


def test_check_data_fix_clears_only_the_url_and_the_date_and_audits_it(poisoned):
    p = poisoned
    lines, failure = run("--project", "poisoned", "--fix")
    assert f"fixed article {p['url'].pk}: cleared url" in lines
    assert f"fixed article {p['date'].pk}: cleared published" in lines
    assert failure is not None and "6 problem(s) found, 4 left" in failure
    url_article = Article.objects.get(pk=p["url"].pk)
    assert url_article.url == "" and Article.objects.get(pk=p["date"].pk).published is None  # readable again
    assert Article.objects.get(pk=p["int"].pk).meta == {"n": 2**64}  # not "safe": left for a person
    events = AuditEvent.objects.filter(action="article.repair").order_by("object_id")
    assert [e.before for e in events if e.object_id == str(p["url"].pk)] == [{"url": "javascript:alert(document.cookie)"}]
    lines, failure = run("--project", "poisoned")
    assert len(lines) == 4 and "4 problem(s) found" in failure


@pytest.mark.skipif("connection.vendor == 'postgresql'")
def test_check_data_finds_nul_characters_sqlite_could_store():
    """PostgreSQL refuses NUL in text and jsonb; SQLite stored it, and the old code wrote it."""
    project = ProjectFactory(slug="nul")
    article = ArticleFactory(project=project)
    Article.objects.filter(pk=article.pk).update(title="bad\x00title")
    from annotate.services.queue import assignment_next
    from tests.factories import MembershipFactory

    user = MembershipFactory(project=project, role="annotator").user
    assignment = assignment_next(project=project, user=user)
    Annotation.objects.filter(assignment=assignment).update(notes="n\x00")
    lines, failure = run()
    assert f"article {article.pk} (project nul): title: contains a NUL character" in "\n".join(lines)
    assert any(line.startswith("annotation ") and ": notes: contains a NUL" in line for line in lines)
    assert failure is not None
