"""Queue benchmark: latency of `next` in import order and in uncertainty order (issue 16).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_queue_bench \\
        .venv/bin/python tests/benchmarks/bench_queue_order.py --sizes 10000 100000

Per size, a project `bench-queue-<n>` (kept between runs) of n short open articles, each with a
prediction of a random margin from one active model. Then, per order, `--calls` new annotators
each ask once for their next article (the service the REST view calls, one at a time: the
latency one annotator sees). Prints p50 / p95 / max in ms and which article came first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    import django

    django.setup()


def ensure_project(n: int):
    from django.core.management import call_command
    from django.db import connection

    from annotate.models import Article, ArticlePrediction, Project, TrainedModel
    from annotate.services.training import queue_margins_copy

    call_command("migrate", verbosity=0)
    slug = f"bench-queue-{n}"
    project = Project.objects.filter(slug=slug).first()
    if project and project.articles.count() == n and ArticlePrediction.objects.filter(article__project=project).count() == n:
        return project
    if project:
        project.delete()
    project = Project.objects.create(slug=slug, name=slug, overlap=2)
    Article.objects.bulk_create([Article(project=project, external_id=f"q{i}", title=f"Report {i}",
                                         text=f"Report number {i}.", content_hash=f"{i:064x}") for i in range(n)],
                                batch_size=5000)
    model = TrainedModel.objects.create(project=project, version=1, status="ready", is_active=True)
    rng = random.Random(n)
    ids = list(project.articles.values_list("id", flat=True))
    ArticlePrediction.objects.bulk_create([ArticlePrediction(article_id=i, model=model, margin=rng.random()) for i in ids],
                                          batch_size=5000)
    for start in range(0, n, 5000):
        queue_margins_copy(ids[start:start + 5000])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return project


def measure(project, order: str, calls: int) -> dict:
    from annotate.models import ArticlePrediction, Membership
    from annotate.services.queue import assignment_next
    from tests.factories import MembershipFactory, UserFactory

    project.queue_order = order
    project.save(update_fields=["queue_order"])
    # Computed from the predictions themselves, before the first call (earlier runs took some).
    expected = (ArticlePrediction.objects.filter(article__project=project, article__in_queue=True)
                .order_by("margin", "article_id").values_list("article_id", flat=True).first())
    times, first = [], None
    for k in range(calls):
        user = UserFactory(username=f"bench-{order}-{k}-{random.random():.12f}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        start = time.perf_counter()
        assignment = assignment_next(project=project, user=user)
        times.append((time.perf_counter() - start) * 1000)
        first = first or assignment.article_id
    times.sort()
    return {"order": order, "articles": project.articles.count(), "calls": calls,
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "max_ms": round(times[-1], 1), "first_is_least_certain": first == expected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    _setup_django()
    for n in args.sizes:
        project = ensure_project(n)
        for order in ("import", "uncertainty"):
            print(json.dumps(measure(project, order, args.calls)), flush=True)


if __name__ == "__main__":
    main()
