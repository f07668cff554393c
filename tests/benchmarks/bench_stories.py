"""Issue 17 benchmark: import rate with near-duplicate fingerprinting, story grouping time and
memory, and duplicate / story quality on the test set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_stories \
        .venv/bin/python tests/benchmarks/bench_stories.py --sizes 100000 [--quality-only]

1. Import: the same synthetic file imported twice into fresh projects, each in a fresh process:
   once with fingerprinting switched off (the bare reference, measured in the same run under the
   same load) and once with it. The corpus is news-like: a Zipf vocabulary of 40,000 words,
   events of 1-8 articles sharing their own names and places over a few days, and 3% re-posts
   (new headline or boilerplate). (bench_import.py's 20-word vocabulary makes every pair of
   articles look alike, which no news corpus does.)
2. Grouping: `stories_recompute` over the imported project (same process as 1): seconds, and
   `rss_added_mb`, the largest RSS sampled while it ran minus the RSS before it (the process'
   peak is usually the import's); run with two sizes (e.g. --sizes 50000 100000) to see that it
   does not grow with n. Then `assign_next`: 1,000 more articles (the corpus' last week) imported
   and put into stories incrementally (`stories_assign_new`), against the full regroup's seconds.
3. Quality (in-process, small): the demo corpus, the Wikinews articles, and edited copies of every
   one (new headline; boilerplate added; one sentence in ten rewritten): duplicate precision /
   recall, story purity / completeness (pairwise, against: the demo is one event, each Wikinews
   article its own, a copy belongs to its original's). datasketch's MinHash (128 permutations,
   word 3-shingles) is timed on the same texts for reference.
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
NEXT_ARTICLES = 1000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def make_file(path: Path, n: int, seed: int = 17, first_day: int = 0, days: int = 365, prefix: str = "") -> dict:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vi", "dor", "an", "el", "qu", "is", "ber", "ton", "ma",
                 "ri", "gel", "os", "un", "tra"]
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(60_000)})[:40_000]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    import bisect

    def word() -> str:
        return vocab[bisect.bisect_left(cum, rng.random() * total)]

    written = events = 0
    start_day = 20_000  # days since the epoch: 2024-10-04
    with path.open("w", encoding="utf-8") as fh:
        while written < n:
            events += 1
            names = [w.capitalize() for w in (word() for _ in range(40)) if len(w) > 3][:8]
            day = start_day + first_day + rng.randint(0, days)
            core = [" ".join(rng.choice(names) if rng.random() < 0.15 else word() for _ in range(rng.randint(12, 25)))
                    + "." for _ in range(30)]
            for k in range(rng.randint(1, 8)):
                if written >= n:
                    break
                sentences = rng.sample(core, rng.randint(10, 18)) + [
                    " ".join(word() for _ in range(rng.randint(12, 25))) + "." for _ in range(rng.randint(3, 8))]
                text = " ".join(sentences)
                d = day + rng.randint(0, 3)
                date = time.strftime("%Y-%m-%d", time.gmtime(d * 86400))
                record = {"id": f"{prefix}e{events}-a{k}", "title": " ".join(rng.sample(names, min(4, len(names)))),
                          "source": f"Outlet {rng.randint(1, 40)}", "published": date, "text": text}
                fh.write(json.dumps(record) + "\n")
                written += 1
                if rng.random() < 0.03 and written < n:
                    repost = {**record, "id": record["id"] + "-repost", "source": f"Outlet {rng.randint(41, 60)}",
                              "title": "Re: " + record["title"],
                              "text": text + " Subscribe to our newsletter for more. All rights reserved."}
                    fh.write(json.dumps(repost) + "\n")
                    written += 1
    return {"events": events}


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run_import(path: str, n: int, fingerprint: bool, group: bool) -> None:
    _setup()
    from annotate.models import Project
    from annotate.services import imports

    if not fingerprint:
        class NoFinder:  # the bare reference: the import as it was before issue 17
            def __init__(self, project):
                pass

            def find(self, articles, replaced=None):
                return []

            def save(self):
                pass

        imports.DuplicateFinder = NoFinder
    slug = f"bench-stories-{n}-{'fp' if fingerprint else 'bare'}"
    Project.objects.filter(slug=slug).delete()
    project = Project.objects.create(name=slug, slug=slug)
    start = time.perf_counter()
    report = imports.articles_import(project=project, source=path, queue_preannotation=False, queue_stories=False)
    elapsed = time.perf_counter() - start
    out = {"articles": n, "fingerprinting": fingerprint, "seconds": round(elapsed, 1),
           "articles_per_s": round(n / elapsed), "near_duplicates": report.duplicates_count,
           "peak_rss_mb": round(_rss_mb())}
    if group:
        import gc
        import threading

        import annotate.stories.grouping  # noqa: F401  (scikit-learn and SciPy load here, not in the figure)
        from annotate.services.stories import stories_recompute

        gc.collect()
        before = _current_rss_mb()
        peak_before = _rss_mb()
        # The process' peak is the import's: the RSS the grouping adds is sampled while it runs.
        sampled = {"max": before, "run": True}

        def sample():
            while sampled["run"]:
                sampled["max"] = max(sampled["max"], _current_rss_mb())
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        result = stories_recompute(project=project)
        seconds = time.perf_counter() - start
        sampled["run"] = False
        sampler.join()
        out["grouping"] = {**result, "seconds": round(seconds, 1),
                           "rss_before_mb": round(before), "rss_added_mb": round(sampled["max"] - before),
                           "peak_rss_mb": round(_rss_mb()), "peak_growth_mb": round(_rss_mb() - peak_before)}
        # Incremental stories: the next 1,000 articles (a week of news at the end of the corpus'
        # year) assigned into the grouped project, without a regroup.
        from annotate.services.stories import stories_assign_new

        more = Path(path).with_name(f"{n}-next.jsonl")
        make_file(more, NEXT_ARTICLES, seed=18, first_day=358, days=7, prefix="next-")
        imports.articles_import(project=project, source=more, queue_preannotation=False, queue_stories=False)
        start = time.perf_counter()
        assigned = stories_assign_new(project=project)
        out["assign_next"] = {**assigned, "seconds": round(time.perf_counter() - start, 1),
                              "full_regroup_seconds": out["grouping"]["seconds"]}
    print(json.dumps(out), flush=True)
    project.delete()


def quality() -> dict:
    _setup()
    from django.db import transaction

    from annotate.models import Article, Project
    from annotate.services.imports import articles_import
    from annotate.services.stories import stories_recompute
    from annotate.stories import fingerprint as fp
    from tests.unit.stories.corpus import DEMO, WIKINEWS, edited, records, write_jsonl

    demo, wikinews = records(DEMO), records(WIKINEWS)
    event = {r["id"]: "demo" for r in demo} | {r["id"]: r["id"] for r in wikinews}
    copies, copy_of = [], {}
    for kind in ("headline", "boilerplate", "sentences"):
        for r in demo + wikinews:
            c = edited(r, new_id=f"{kind}-{r['id']}", kind=kind)
            copies.append(c)
            copy_of[c["id"]] = r["id"]
            event[c["id"]] = event[r["id"]]
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        project = Project.objects.create(name="bench quality", slug="bench-stories-quality")
        articles_import(project=project, source=DEMO, queue_preannotation=False, queue_stories=False)
        articles_import(project=project, source=WIKINEWS, queue_preannotation=False, queue_stories=False)
        report = articles_import(project=project, source=write_jsonl(Path(tmp) / "c.jsonl", copies),
                                 queue_preannotation=False, queue_stories=False)
        found = {(d["id"], d["duplicate_of_id"]) for d in report.duplicates}
        truth = set(copy_of.items())
        # A copy matched to another copy of the same original is right too (same group).
        right = {(c, o) for c, o in found if copy_of.get(c) == o or copy_of.get(c) == copy_of.get(o)}
        by_kind = {}
        for kind in ("headline", "boilerplate", "sentences"):
            mine = {c for c, _ in right if c.startswith(kind)}
            by_kind[kind] = round(len(mine) / sum(1 for c in copy_of if c.startswith(kind)), 3)
        out["duplicates"] = {"pairs_true": len(truth), "found": len(found), "correct": len(right),
                             "precision": round(len(right) / len(found), 3) if found else None,
                             "recall": round(len(right) / len(truth), 3), "recall_by_edit": by_kind}
        stories_recompute(project=project)
        story = dict(Article.objects.filter(project=project).values_list("external_id", "story_link__story_id"))
        ids = sorted(story)
        same_story = same_event = both = 0
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                s, e = story[a] == story[b], event[a] == event[b]
                same_story += s
                same_event += e
                both += s and e
        out["stories"] = {"articles": len(ids), "stories": len(set(story.values())), "events": len(set(event.values())),
                          "pairwise_purity": round(both / same_story, 3) if same_story else None,
                          "pairwise_completeness": round(both / same_event, 3) if same_event else None}
        transaction.set_rollback(True)
    texts = [r["text"] for r in demo + wikinews + copies]
    start = time.perf_counter()
    for t in texts:
        fp.signature(t)
    out["fingerprint_us_per_article"] = round((time.perf_counter() - start) / len(texts) * 1e6)
    try:
        import re

        from datasketch import MinHash

        start = time.perf_counter()
        for t in texts:
            words = re.findall(r"\w+", t.lower())
            m = MinHash(num_perm=128)
            m.update_batch([" ".join(words[i:i + 3]).encode() for i in range(max(1, len(words) - 2))])
        out["datasketch_minhash128_us_per_article"] = round((time.perf_counter() - start) / len(texts) * 1e6)
    except ImportError:
        out["datasketch_minhash128_us_per_article"] = "datasketch not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_import(args.one[0], int(args.one[1]), args.one[2] == "fp", args.one[3] == "group")
        return
    if args.quality_only:
        print(json.dumps(quality()), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"{n}.jsonl"
            info = make_file(path, n)
            print(f"# {n} articles in {info['events']} events, {path.stat().st_size / 1e6:.0f} MB file", flush=True)
            for mode in ("bare", "fp"):
                subprocess.run([sys.executable, __file__, "--one", str(path), str(n), mode,
                                "group" if mode == "fp" else "-"], check=True)
    subprocess.run([sys.executable, __file__, "--quality-only"], check=True)


if __name__ == "__main__":
    main()
