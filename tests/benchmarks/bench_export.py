"""Export benchmark: articles/s and peak RSS per format and project size (PostgreSQL).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_bench STANDPOINT_VAR_DIR=/tmp/sp_bench_var
    .venv/bin/python tests/benchmarks/bench_export.py --sizes 1000 10000 50000 --formats jsonl
    .venv/bin/python tests/benchmarks/bench_export.py --sizes 1000 --formats conll2003 conllu spacy

Synthetic projects `bench-export-<n>` (kept between runs, rebuilt if incomplete): articles of
~3,500 characters with ~25 entity suggestions and 3 quotes each, and 2 submitted annotations per
article (stance, frames, the 3 quotes and 2 entities as the annotator's spans). Each export runs
in a fresh process, through `export_request` + `export_build` (the code a Celery worker runs:
counting, streaming, writing, fsync, sha256, rename), so `peak_rss_mb` is that export's own
peak; `rss_growth_mb` is peak minus the RSS just before the build (after spaCy is loaded for the
token formats).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("government troops minister said warned Ukraine Europe talks ceasefire security alliance "
         "president officials report border military economy sanctions statement the of and to in "
         "that would could after before during against with from over").split()
NAMES = [("Vladimir Putin", "PERSON"), ("NATO", "ORG"), ("Brussels", "GPE"), ("Emmanuel Macron", "PERSON"),
         ("European Union", "ORG"), ("Kyiv", "GPE"), ("Monday", "DATE"), ("26", "CARDINAL")]
ENTITIES_PER_ARTICLE = 25
QUOTES_PER_ARTICLE = 3


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _article(rng: random.Random, chars: int = 3500):
    """(text, entity spans, quote spans) with spans on word boundaries."""
    parts: list[str] = []
    entities, quotes = [], []
    size = 0
    slots = set(rng.sample(range(400), ENTITIES_PER_ARTICLE))
    quote_at = set(rng.sample(range(20, 380, 40), QUOTES_PER_ARTICLE))
    k = 0
    while size < chars:
        if k in quote_at:
            body = " ".join(rng.choice(WORDS) for _ in range(12))
            piece = f"“{body.capitalize()},”"
            quotes.append((size, size + len(piece)))
        elif k in slots:
            name, label = rng.choice(NAMES)
            piece = name
            entities.append((size, size + len(name), label))
        else:
            piece = rng.choice(WORDS)
        parts.append(piece)
        size += len(piece) + 1
        k += 1
    return " ".join(parts) + ".", entities, quotes


def ensure_project(n: int):
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from annotate.models import Annotation, Article, Assignment, Project, Span, Target, text_hash

    slug = f"bench-export-{n}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and project.articles.count() == n:
        return project
    if project is not None:
        project.delete()
    User = get_user_model()
    annotators = [User.objects.get_or_create(username=f"bench-annotator-{i}")[0] for i in range(2)]
    project = Project.objects.create(name=f"Export bench {n}", slug=slug)
    Target.objects.create(project=project, key="western-troops", name="Western troops")
    rng = random.Random(n)
    start = time.perf_counter()
    now = timezone.now()
    batch = 1000
    for first in range(0, n, batch):
        with transaction.atomic():
            made = [_article(rng) for _ in range(min(batch, n - first))]
            articles = Article.objects.bulk_create([
                Article(project=project, external_id=f"bench-{first + i:06d}", title=f"Article {first + i}",
                        source=f"Outlet {i % 7}", text=text, content_hash=text_hash(text), published=now,
                        meta={"n": first + i})
                for i, (text, _, _) in enumerate(made)
            ])
            spans = []
            for art, (_, ents, quotes) in zip(articles, made, strict=True):
                spans += [Span(article=art, start=s, end=e, label=lab, origin="model") for s, e, lab in ents]
                spans += [Span(article=art, start=s, end=e, label="QUOTE", origin="model",
                               attrs={"kind": "direct", "speaker": None, "speaker_span": None}) for s, e in quotes]
            assignments = Assignment.objects.bulk_create([
                Assignment(project=project, article=art, annotator=user, status=Assignment.Status.SUBMITTED,
                           submitted_at=now)
                for art in articles for user in annotators
            ])
            annotations = Annotation.objects.bulk_create([
                Annotation(assignment=a, stance={"western-troops": rng.choice(["FAVOR", "AGAINST", "NEUTRAL"])},
                           frames=["Security and defense"], primary_frame="Security and defense", submitted_at=now)
                for a in assignments
            ])
            by_article = {a.pk: m for a, m in zip(articles, made, strict=True)}
            for ann, asg in zip(annotations, assignments, strict=True):
                _, ents, quotes = by_article[asg.article_id]
                spans += [Span(article_id=asg.article_id, annotation=ann, start=s, end=e, label="QUOTE",
                               origin="human", attrs={"kind": "direct"}) for s, e in quotes]
                spans += [Span(article_id=asg.article_id, annotation=ann, start=s, end=e, label=lab,
                               origin="human") for s, e, lab in ents[:2]]
            Span.objects.bulk_create(spans, batch_size=5000)
    print(f"# built {slug}: {n} articles in {time.perf_counter() - start:.0f} s", flush=True)
    return project


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def run_one(n: int, fmt: str) -> None:
    _setup_django()
    from annotate.models import Project
    from annotate.services.exports import export_build, export_request

    project = Project.objects.get(slug=f"bench-export-{n}")
    if fmt != "jsonl":
        from annotate.exports.tokens import export_pipeline

        export_pipeline()  # loaded once per worker process: not part of one export's cost
    # ru_maxrss survives exec (it would report the parent's peak); VmHWM is this process's own,
    # and writing 5 to clear_refs resets it to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")
    rss_before = _status_mb("VmRSS")
    cpu_start = time.process_time()
    start = time.perf_counter()
    job = export_request(project=project, format=fmt, options={}, enqueue=False)
    job = export_build(export_id=job.pk)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak = _status_mb("VmHWM")
    assert job.status == "done", job.error
    print(json.dumps({
        "format": job.format, "articles": job.counts["articles"], "seconds": round(elapsed, 1),
        "articles_per_s": round(job.counts["articles"] / elapsed), "file_mb": round(job.size_bytes / 1e6, 1),
        # CPU seconds of this process (not PostgreSQL's): on a shared machine, wall time varies
        # with the neighbours; articles per CPU-second does not.
        "cpu_seconds": round(cpu, 1), "articles_per_cpu_s": round(job.counts["articles"] / cpu),
        "peak_rss_mb": round(peak), "rss_before_mb": round(rss_before), "rss_growth_mb": round(peak - rss_before),
        "spans_expanded": job.counts.get("spans_expanded", 0),
    }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--formats", nargs="+", default=["jsonl", "conll2003", "conllu", "spacy"])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(int(args.one[0]), args.one[1])
        return
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for n in args.sizes:
        ensure_project(n)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh bulk loads: give the planner real row counts
    for fmt in args.formats:
        for n in args.sizes:
            subprocess.run([sys.executable, __file__, "--one", str(n), fmt], check=True)


if __name__ == "__main__":
    main()
