"""Agreement / adjudication benchmark: seconds and queries for the agreement report, the
adjudication queue and majority gold on a project of N articles × K annotators.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/standpoint_bench \
        .venv/bin/python tests/benchmarks/bench_agreement.py --articles 5000 --annotators 3

Builds a fresh project with bulk inserts (2 targets, 1-3 frames and 3 spans per annotation).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]
FRAMES = ["Economic", "Political", "Security and defense", "Morality", "Public opinion"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--annotators", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top functions of the agreement report")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from annotate.agreement import agreement_report
    from annotate.models import Annotation, Article, Assignment, Project, Span, Target, text_hash
    from annotate.selectors.adjudication import adjudication_queue
    from annotate.services.gold import gold_accept_unanimous, gold_compute_majority

    call_command("migrate", verbosity=0)  # a new database has no tables yet
    rng = random.Random(7)
    stamp = time.strftime("%H%M%S")
    project = Project.objects.create(name=f"bench {stamp}", slug=f"bench-agreement-{stamp}-{os.getpid()}",
                                     overlap=args.annotators)
    for i, key in enumerate(("troops", "sanctions")):
        Target.objects.create(project=project, key=key, name=key, position=i)
    User = get_user_model()
    users = [User.objects.get_or_create(username=f"bench-ann-{i}")[0] for i in range(args.annotators)]
    text = "Vladimir Putin said Western troops would be legitimate targets, according to Reuters. " * 5
    t0 = time.perf_counter()
    articles = Article.objects.bulk_create([
        Article(project=project, external_id=f"a{i}", title=f"Article {i}", source=f"Outlet {i % 5}", text=text,
                content_hash=text_hash(text)) for i in range(args.articles)], batch_size=2000)
    now = timezone.now()
    assignments = Assignment.objects.bulk_create([
        Assignment(project=project, article=a, annotator=u, status=Assignment.Status.SUBMITTED, submitted_at=now,
                   time_spent_seconds=rng.randint(30, 900)) for a in articles for u in users], batch_size=5000)
    annotations = []
    for asg in assignments:
        truth = LABELS[asg.article_id % 4]
        stance = {k: truth if rng.random() < 0.7 else rng.choice(LABELS) for k in ("troops", "sanctions")}
        frames = rng.sample(FRAMES, rng.randint(1, 3))
        annotations.append(Annotation(assignment=asg, stance=stance, frames=frames, primary_frame=frames[0],
                                      submitted_at=now))
    annotations = Annotation.objects.bulk_create(annotations, batch_size=5000)
    spans = []
    for ann, asg in zip(annotations, assignments, strict=True):
        for start, end, label in ((0, 14, "PERSON"), (20, 33, "NORP"), (75, 82, "ORG")):
            if rng.random() < 0.85:
                spans.append(Span(article_id=asg.article_id, annotation=ann, start=start + rng.choice([0, 0, 0, 1]),
                                  end=end, label=label, origin=Span.Origin.HUMAN))
    Span.objects.bulk_create(spans, batch_size=5000)
    print(f"built {args.articles} articles × {args.annotators} annotators, {len(spans)} spans "
          f"in {time.perf_counter() - t0:.1f} s")

    def measure(name, fn):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = fn()
            took = time.perf_counter() - start
        print(f"{name:<28} {took:7.2f} s  {len(ctx.captured_queries):3d} queries")
        return result

    report = measure("agreement_report", lambda: agreement_report(project=project))
    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            agreement_report(project=project)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
    print("  alpha(troops) =", report.stance[0]["alpha"]["value"], " compared =", report.articles["compared"])
    items = measure("adjudication_queue(open)", lambda: adjudication_queue(project=project, state="open"))
    print("  open items =", len(items))
    measure("gold_accept_unanimous", lambda: gold_accept_unanimous(project=project, by=users[0]))
    print("  ", measure("gold_compute_majority", lambda: gold_compute_majority(project=project)))
    print("  ", measure("gold_compute_majority again", lambda: gold_compute_majority(project=project)))
    measure("agreement_report with gold", lambda: agreement_report(project=project))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    project.delete()


if __name__ == "__main__":
    main()
