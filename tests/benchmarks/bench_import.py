"""Import benchmark: articles/s and peak RSS for 10k and 100k synthetic news articles.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/standpoint_bench \
        .venv/bin/python tests/benchmarks/bench_import.py --sizes 10000 100000

Each size runs in a fresh process (peak RSS is per process) against a fresh project.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("government troops minister said warned Ukraine Europe talks ceasefire security alliance "
         "president officials report border military economy sanctions statement").split()


def make_file(path: Path, n: int, chars: int = 3500) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            words, size = [], 0
            while size < chars:
                word = rng.choice(WORDS)
                words.append(word)
                size += len(word) + 1
            text = " ".join(words)
            record = {"id": f"bench-{i}", "title": f"Article {i}", "source": f"Outlet {i % 7}",
                      "published": "2025-09-05", "text": text,
                      "spans": [{"start": 0, "end": len(words[0]), "label": "ORG"}]}
            fh.write(json.dumps(record) + "\n")


def run_one(path: str, n: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from annotate.models import Project
    from annotate.services.imports import articles_import

    call_command("migrate", verbosity=0)
    Project.objects.filter(slug=f"bench-import-{n}").delete()
    project = Project.objects.create(name=f"bench {n}", slug=f"bench-import-{n}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    report = articles_import(project=project, source=path, queue_preannotation=False)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"articles": n, "created": report.created, "seconds": round(elapsed, 1),
                      "articles_per_s": round(n / elapsed), "peak_rss_mb": round(peak),
                      "rss_before_import_mb": round(rss_before)}))
    project.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one[0], int(args.one[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"{n}.jsonl"
            make_file(path, n)
            print(f"# {n} articles, {path.stat().st_size / 1e6:.0f} MB file", flush=True)
            subprocess.run([sys.executable, __file__, "--one", str(path), str(n)], check=True)


if __name__ == "__main__":
    main()
