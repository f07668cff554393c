"""Pre-annotation speed and memory benchmark (run on demand, not in CI).

    DATABASE_URL=postgres://… .venv/bin/python tests/benchmarks/bench_preannotate.py [--articles 300]
        [--memory-articles 10000] [--model NAME]

1. bare: the spaCy pipeline alone (`spacy.load(model)`, `nlp.pipe`, batch 32) over the texts: words/s.
2. end-to-end: `articles_import` of the same texts into a fresh project, pre-annotation run by one
   worker (in this process: the Celery task bodies run eagerly, chunk by chunk), until every span
   is in the database: words/s, and its ratio to (1) (the bar is >= 0.8).
3. memory: RSS of this worker process while pre-annotating --memory-articles articles (each with
   unseen words, so the string store would grow without memory zones), sampled per chunk.

Texts: the seed and Wikinews articles, repeated with a per-copy unique token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
CORPORA = [ROOT / "annotate" / "demo_data" / "seed_articles.jsonl", ROOT / "tests" / "fixtures" / "wikinews" / "articles.jsonl"]


def corpus_texts() -> list[str]:
    texts = []
    for path in CORPORA:
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def make_texts(n: int, base: list[str]) -> list[str]:
    # a unique token per copy: the model's string store sees new strings as in a real stream
    return [f"{base[i % len(base)]}\n\nRef Qx{i}z{i * 7919 % 10007}." for i in range(n)]


def words(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


def write_jsonl(texts: list[str], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": f"bench-{i}", "text": t}, ensure_ascii=False) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--memory-articles", type=int, default=0, help="0 = skip the memory run")
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a new database (as the docstring's command) has no tables yet
    import psutil
    import spacy
    from django.conf import settings

    from annotate.celery import app
    from annotate.models import Project, Span
    from annotate.nlp.extract import BATCH_SIZE
    from annotate.services.imports import articles_import

    app.conf.task_always_eager = True
    model = args.model or settings.SPACY_MODEL
    base = corpus_texts()
    texts = make_texts(args.articles, base)
    n_words = words(texts)
    proc = psutil.Process()

    bare_nlp = spacy.load(model)
    list(bare_nlp.pipe(texts[:10]))  # warm up

    def run_bare() -> float:
        t0 = time.perf_counter()
        for _ in bare_nlp.pipe(texts, batch_size=BATCH_SIZE):
            pass
        return n_words / (time.perf_counter() - t0)

    def import_and_preannotate(batch: list[str], slug: str, sample_rss: list | None = None) -> float:
        project = Project.objects.create(name=slug, slug=slug)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "articles.jsonl"
                write_jsonl(batch, path)
                if sample_rss is not None:
                    from annotate.services import preannotation

                    real = preannotation.preannotation_process_chunk

                    def sampled(**kw):
                        out = real(**kw)
                        sample_rss.append(proc.memory_info().rss)
                        return out

                    import annotate.tasks.preannotation as tasks_module

                    tasks_module.preannotation_process_chunk = sampled
                t0 = time.perf_counter()
                articles_import(project=project, source=path)
                elapsed = time.perf_counter() - t0
            spans = Span.objects.filter(article__project=project).count()
            pending = project.articles.exclude(preannotation_status="done").count()
            print(f"  {slug}: {len(batch)} articles, {spans} spans in the database, {pending} not done")
            return elapsed
        finally:
            project.delete()

    from annotate.nlp.loading import get_pipeline

    get_pipeline(args.model)  # the worker loads its pipeline once, before its first task
    # alternate the two measurements and keep the best of each: the machine's load varies
    bares, e2es = [], []
    for r in range(args.repeat):
        bares.append(run_bare())
        e2es.append(n_words / import_and_preannotate(texts, f"bench-{os.getpid()}-{r}"))
    print(f"bare nlp.pipe ({model}, batch {BATCH_SIZE}): {len(texts)} articles, {n_words} words: "
          + ", ".join(f"{b:,.0f}" for b in bares) + " words/s")
    print("end-to-end import -> spans in DB (one worker): " + ", ".join(f"{e:,.0f}" for e in e2es) + " words/s")
    print(f"best end-to-end / best bare = {max(e2es):,.0f} / {max(bares):,.0f} = {max(e2es) / max(bares):.2f}")

    if args.memory_articles:
        samples: list[int] = []
        mem_texts = make_texts(args.memory_articles, base)
        t0 = time.perf_counter()
        import_and_preannotate(mem_texts, f"bench-mem-{os.getpid()}", samples)
        mb = [s / 2**20 for s in samples]
        marks = [mb[max(0, int(len(mb) * f) - 1)] for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
        print(f"memory: {args.memory_articles} articles in {time.perf_counter() - t0:.0f} s; worker RSS after "
              f"10/25/50/75/100% of chunks: " + " / ".join(f"{m:.0f}" for m in marks) + " MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
