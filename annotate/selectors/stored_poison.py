"""Stored data that the input boundary (annotate/inputs.py) would refuse today, and that breaks
reads: rows written before issue 13, or written around the services (raw SQL, a restored dump).

Read without trusting the rows: JSON columns are read as text and parsed by the boundary (a
value 1,000 levels deep would overflow Python's parser), and `published` is compared in the
database (a year-0 timestamp cannot even be loaded into Python).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, TextField
from django.db.models.functions import Cast, ExtractYear

from annotate.exports.options import MAX_SEED
from annotate.inputs import InputRefused, NotJSON, json_loads, string_problem, url_problem, year_range
from annotate.models import Annotation, Article, ExportJob, Gold, Project, Span, Target

CHUNK = 500


@dataclass(frozen=True)
class Finding:
    model: str  # "article", "span", …
    pk: int
    field: str  # a field path: "meta.x[2]"
    problem: str
    project: str = ""  # slug
    fixable: bool = False

    def __str__(self) -> str:
        where = f" (project {self.project})" if self.project else ""
        return f"{self.model} {self.pk}{where}: {self.field}: {self.problem}"


# model, path from the row to its project's slug, string fields, JSON fields
TABLES = [
    (Project, "slug", ("name", "slug", "description", "guidelines"), ("label_schema",)),
    (Target, "project__slug", ("key", "name", "description"), ()),
    (Article, "project__slug", ("external_id", "title", "source", "text"), ("meta",)),
    (Span, "article__project__slug", ("label",), ("attrs",)),
    (Annotation, "assignment__project__slug", ("primary_frame", "notes"), ("stance", "frames", "rejected_suggestions")),
    (Gold, "article__project__slug", ("primary_frame", "notes"), ("stance", "frames")),
    (ExportJob, "project__slug", (), ("options",)),
]


def _json_findings(model: str, pk: int, slug: str, field: str, text: str | None) -> Iterator[Finding]:
    if text is None:
        return
    try:
        value = json_loads(text)
    except InputRefused as exc:
        for r in exc.refusals:
            yield Finding(model, pk, f"{field}.{r.path}" if r.path and not r.path.startswith("[") else field + r.path,
                          r.message, slug)
        return
    except NotJSON as exc:
        yield Finding(model, pk, field, f"is not readable JSON ({exc})", slug)
        return
    if model == "exportjob" and field == "options":
        seed = (value.get("split") or {}).get("seed") if isinstance(value, dict) else None
        if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed <= MAX_SEED:
            yield Finding(model, pk, "options.split.seed", f"{seed} is outside 0 … {MAX_SEED}", slug)


def stored_poison(*, project: Project | None = None) -> Iterator[Finding]:
    """Every finding, table by table, in primary-key order."""
    for model, slug_path, strings, jsons in TABLES:
        name = model._meta.model_name
        rows = model.objects.order_by("pk")
        if project is not None:
            rows = rows.filter(pk=project.pk) if model is Project else rows.filter(
                **{slug_path.removesuffix("__slug"): project})
        annotations = {f"_{f}_text": Cast(f, output_field=TextField()) for f in jsons}
        columns = ["pk", slug_path, *strings, *annotations]
        for row in rows.annotate(**annotations).values_list(*columns).iterator(chunk_size=CHUNK):
            pk, slug, values = row[0], row[1], row[2:]
            for field, value in zip(strings, values[:len(strings)], strict=True):
                problem = isinstance(value, str) and string_problem(value)
                if problem:
                    yield Finding(name, pk, field, problem, slug)
            for field, text in zip(jsons, values[len(strings):], strict=True):
                yield from _json_findings(name, pk, slug, field, text)
    yield from _article_urls_and_dates(project)


def _article_urls_and_dates(project: Project | None) -> Iterator[Finding]:
    articles = Article.objects.order_by("pk")
    if project is not None:
        articles = articles.filter(project=project)
    for pk, slug, url in articles.exclude(url="").values_list("pk", "project__slug", "url").iterator(chunk_size=CHUNK):
        problem = url_problem(url)
        if problem and not string_problem(url):  # a NUL was reported with the strings
            yield Finding("article", pk, "url", f"{url[:80]!r}: {problem}", slug, fixable=True)
    low, high = year_range()
    outside = Q(published__lt=dt.datetime(low, 1, 1, tzinfo=dt.UTC)) | Q(published__gte=dt.datetime(high + 1, 1, 1, tzinfo=dt.UTC))
    for pk, slug, year in (articles.filter(outside).annotate(year=ExtractYear("published"))
                           .values_list("pk", "project__slug", "year").iterator(chunk_size=CHUNK)):
        yield Finding("article", pk, "published", f"year {year} is outside {low}–{high} (unreadable below year 1)",
                      slug, fixable=True)
