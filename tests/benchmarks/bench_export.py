"""Export benchmark: articles/s and peak RSS per format and project size (PostgreSQL).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_bench STANDPOINT_VAR_DIR=/tmp/sp_bench_var
    .venv/bin/python tests/benchmarks/bench_export.py --sizes 1000 10000 50000 --formats jsonl
    .venv/bin/python tests/benchmarks/bench_export.py --sizes 1000 --formats conll2003 conllu spacy

Synthetic projects `bench-export-<n>` (kept between runs, rebuilt if incomplete): articles of
~3,500 characters with ~25 entity suggestions and 3 quotes each, and 2 submitted annotations per
article (stance, frames, the 3 quotes and 2 entities as the annotator's spans). Each export runs
in a fresh process, through `export_request` + `export_build` (the code a Celery worker runs:
counting, streaming, writing, fsync, sha256, rename), so `peak_rss_mb` is that export's own
peak; `rss_growth_mb` is peak minus the RSS just before the build. Before it, the process
imports spaCy as a worker serving the exports queue does when it starts (annotate.celery), and
`worker_start_import_s` says what that took: a cold process would add it to a DocBin export
(the CoNLL writers never import spaCy when the layers are stored).

Token formats read the stored token layer (issue 18). Pre-annotating 60k synthetic articles
would take hours here, so `ensure_layers` stores layers built the cheap way: the export
pipeline's own tokenizer (real token boundaries and spaces), tags looked up from what the
tagger said on a sample of the same synthetic texts, a sentence start after each full stop;
encoded and checked exactly as pre-annotation's (same size per article, same validity).
`bare_cursor` is the reference: a bare psycopg cursor streaming the same article, span and
annotation rows in JSONL's chunks (1,000 articles) with the export's index-friendly filters,
building nothing. One line per run and format,
then a table with each rate against JSONL and against the cursor of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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


def ensure_layers(project) -> None:
    """A valid stored token layer for every article of the project (see the module docstring)."""
    from collections import Counter, defaultdict

    from annotate.exports.tokens import export_pipeline
    from annotate.models import TokenLayerRow, text_hash
    from annotate.nlp.token_layer import TokenLayer, encode
    from annotate.services.preannotation import token_layers_store

    nlp, key = export_pipeline()
    todo = project.articles.exclude(token_layer__pipeline=key).order_by("id")
    if not todo.exists():
        return
    start = time.perf_counter()
    sample = list(project.articles.order_by("id").values_list("text", flat=True)[:20])
    seen: dict[str, Counter] = defaultdict(Counter)
    for doc in nlp.pipe(sample):
        for t in doc:
            seen[t.text][(t.tag_, t.pos_, str(t.morph))] += 1
    lookup = {form: c.most_common(1)[0][0] for form, c in seen.items()}
    last = 0
    while True:
        chunk = list(todo.filter(id__gt=last).values_list("id", "text")[:1000])
        if not chunk:
            break
        last = chunk[-1][0]
        rows = []
        for (aid, text), doc in zip(chunk, nlp.tokenizer.pipe(t for _, t in chunk), strict=True):
            forms = [t.text for t in doc]
            tags = [lookup.get(f, ("NN", "NOUN", "Number=Sing")) for f in forms]
            layer = TokenLayer(
                text, [t.idx for t in doc], [t.idx + len(t.text) for t in doc], [bool(t.whitespace_) for t in doc],
                [1 if i == 0 or forms[i - 1] == "." else -1 for i in range(len(forms))],
                [x[0] for x in tags], [x[1] for x in tags], [x[2] for x in tags], [""] * len(forms))
            rows.append(TokenLayerRow(article_id=aid, pipeline=key, text_hash=text_hash(text), data=encode(layer),
                                      tokens=len(layer)))
        token_layers_store(rows)
    print(f"# stored token layers for {project.slug} in {time.perf_counter() - start:.0f} s", flush=True)


def layer_bytes(project) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT avg(octet_length(l.data)), avg(octet_length(a.text)) FROM annotate_tokenlayerrow l "
            "JOIN annotate_article a ON a.id = l.article_id WHERE a.project_id = %s", [project.pk])
        stored, text = cursor.fetchone()
    return {"layer_bytes_per_article": round(float(stored)), "text_bytes_per_article": round(float(text)),
            "layer_to_text": round(float(stored) / float(text), 2)}


def bare_cursor(n: int) -> None:
    """The reference: psycopg alone streams the rows an export reads, in the same chunks."""
    _setup_django()
    import psycopg
    from django.conf import settings

    from annotate.models import Project
    from annotate.services.exports import ROW_ONLY_CHUNK_SIZE

    project = Project.objects.get(slug=f"bench-export-{n}")
    db = settings.DATABASES["default"]
    chunk = ROW_ONLY_CHUNK_SIZE  # JSONL's own chunk size, so neither side gains from fewer round trips
    start = time.perf_counter()
    cpu_start = time.process_time()
    count = 0
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]) as conn:
        cur = conn.cursor()
        last = 0
        while True:
            cur.execute("SELECT id, external_id, title, source, url, published, meta::text, text FROM annotate_article "
                        "WHERE project_id = %s AND id > %s ORDER BY id LIMIT %s", [project.pk, last, chunk])
            rows = cur.fetchall()
            if not rows:
                break
            ids = [r[0] for r in rows]
            last = ids[-1]
            # The redundant id range is the export's own (annotate.exports.rows): without it PostgreSQL
            # hashes the whole annotation table per chunk, and the reference would be slow for that alone.
            cur.execute("SELECT article_id, annotation_id, gold_id, start, \"end\", label, attrs::text, origin "
                        "FROM annotate_span WHERE article_id = ANY(%s) AND article_id BETWEEN %s AND %s "
                        "ORDER BY article_id, start, \"end\", label, id", [ids, ids[0], last])
            cur.fetchall()
            cur.execute("SELECT an.id, s.article_id, s.annotator_id, an.stance::text, an.frames::text, an.primary_frame, "
                        "an.notes, s.status, an.submitted_at FROM annotate_annotation an JOIN annotate_assignment s "
                        "ON s.id = an.assignment_id WHERE s.article_id = ANY(%s) AND s.article_id BETWEEN %s AND %s "
                        "ORDER BY an.id", [ids, ids[0], last])
            cur.fetchall()
            count += len(rows)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"format": "bare_cursor", "articles": count, "seconds": round(elapsed, 1),
                      "articles_per_s": round(count / elapsed), "cpu_seconds": round(cpu, 1),
                      "articles_per_cpu_s": round(count / cpu) if cpu else None}), flush=True)


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def _cpu_seconds() -> float:
    """User and system time of this process and of the children it has waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_one(n: int, fmt: str) -> None:
    _setup_django()
    from annotate.models import Project
    from annotate.services.exports import export_build, export_request

    project = Project.objects.get(slug=f"bench-export-{n}")
    if fmt == "bare_cursor":
        bare_cursor(n)
        return
    # As a worker serving the exports queue is when a task arrives: it imported spaCy before its
    # pool forked (annotate.celery). Timed apart, so a cold process's cost stays visible.
    started = time.perf_counter()
    import spacy.tokens  # noqa: F401
    worker_start_import_s = round(time.perf_counter() - started, 2)
    # ru_maxrss survives exec (it would report the parent's peak); VmHWM is this process's own,
    # and writing 5 to clear_refs resets it to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")
    rss_before = _status_mb("VmRSS")
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    job = export_request(project=project, format=fmt, options={}, enqueue=False)
    job = export_build(export_id=job.pk)
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    peak = _status_mb("VmHWM")
    # The helper processes of a parallel build (annotate.exports.parallel), the only children
    # this process has: their largest peak, shared pages with this process included.
    helpers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert job.status == "done", job.error
    print(json.dumps({
        "format": job.format, "articles": job.counts["articles"], "seconds": round(elapsed, 1),
        "articles_per_s": round(job.counts["articles"] / elapsed), "file_mb": round(job.size_bytes / 1e6, 1),
        # CPU seconds of this process and its helper processes (not PostgreSQL's): on a shared
        # machine, wall time varies with the neighbours; articles per CPU-second does not.
        "helper_processes": job.counts.get("export_processes", 0),
        "helper_peak_rss_mb": round(helpers_peak),
        "cpu_seconds": round(cpu, 1), "articles_per_cpu_s": round(job.counts["articles"] / cpu),
        "peak_rss_mb": round(peak), "rss_before_mb": round(rss_before), "rss_growth_mb": round(peak - rss_before),
        "spans_expanded": job.counts.get("spans_expanded", 0),
        "analysed_on_export": job.counts.get("analysed_on_export"),
        "loaded_pipeline": bool(loaded_pipelines_after()),
        "worker_start_import_s": worker_start_import_s,
    }), flush=True)


def loaded_pipelines_after() -> bool:
    from annotate.exports.tokens import export_pipeline

    return export_pipeline.cache_info().currsize > 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--formats", nargs="+", default=["bare_cursor", "jsonl", "conll2003", "conllu", "spacy"])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--build-only", action="store_true", help="build the projects and their layers, export nothing")
    args = parser.parse_args()
    if args.one:
        run_one(int(args.one[0]), args.one[1])
        return
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    projects = {n: ensure_project(n) for n in args.sizes}
    for project in projects.values():
        ensure_layers(project)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh bulk loads: give the planner real row counts
    for n, project in projects.items():
        print(json.dumps({"articles": n, **layer_bytes(project)}), flush=True)
    if args.build_only:
        return
    print("# load before: " + os.popen("uptime").read().strip(), flush=True)
    results: dict[tuple[int, str], dict] = {}
    for n in args.sizes:
        for fmt in args.formats:
            out = subprocess.run([sys.executable, __file__, "--one", str(n), fmt], check=True, capture_output=True,
                                 text=True).stdout
            print(out, end="", flush=True)
            results[(n, fmt)] = json.loads(out.strip().splitlines()[-1])
    print("# load after: " + os.popen("uptime").read().strip(), flush=True)
    # On a shared machine wall rates follow the neighbours' load; articles per CPU-second of the
    # export's own process (all its threads, not PostgreSQL's) do not, so both are printed.
    print("\n| articles | format | articles/s | vs JSONL | vs bare cursor | articles/CPU-s | CPU vs JSONL "
          "| peak RSS MB | RSS growth MB | helpers | helper peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    smallest = min(args.sizes)
    for (n, fmt), r in results.items():
        jsonl = results.get((n, "jsonl"), {})
        bare = results.get((n, "bare_cursor"), {}).get("articles_per_s")
        rate, cpu_rate = r["articles_per_s"], r.get("articles_per_cpu_s")
        cells = [str(n), fmt, str(rate)]
        cells.append(f"{rate / jsonl['articles_per_s']:.0%}" if jsonl else "")
        cells.append(f"{rate / bare:.0%}" if bare else "")
        cells.append(str(cpu_rate or ""))
        cells.append(f"{cpu_rate / jsonl['articles_per_cpu_s']:.0%}" if jsonl and cpu_rate else "")
        cells += [str(r.get("peak_rss_mb", "")), str(r.get("rss_growth_mb", ""))]
        cells += [str(r.get("helper_processes", "")), str(r.get("helper_peak_rss_mb", "") or "")]
        print("| " + " | ".join(cells) + " |")
    print("\n| format | peak RSS growth from the smallest to the largest size (MB) |\n|---|---:|")
    for fmt in args.formats:
        low, high = results.get((smallest, fmt), {}), results.get((max(args.sizes), fmt), {})
        if "peak_rss_mb" in low and "peak_rss_mb" in high:
            print(f"| {fmt} | {high['peak_rss_mb'] - low['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
