"""API benchmark: latency of `next` and of an annotation save under 20 concurrent clients.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_api_bench STANDPOINT_VAR_DIR=/tmp/sp_api_bench_var
    .venv/bin/python tests/benchmarks/bench_api.py --clients 20 --rounds 15 --workers 4

Starts gunicorn (sync workers, DEBUG=False) on 127.0.0.1 against PostgreSQL, seeds a fresh
project (`--articles` articles of ~3,500 characters with 25 suggestions each, overlap 2) and
one annotator + token per client. Each client (a thread with its own HTTP connections) runs
`--rounds` rounds of: POST next (a *new* assignment: the previous one was submitted) → PUT the
whole annotation 3 times (autosave; stance, frames, 4 spans) → POST submit. So the request
count is bounded: clients × rounds × 5. Prints p50/p95/p99 and requests/s per endpoint; the
throughput is that endpoint's requests over the whole run's wall time (all endpoints interleave).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("government troops minister said warned Ukraine Europe talks ceasefire security alliance "
         "president officials report border military economy sanctions statement").split()


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(n_articles: int, n_clients: int):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotate.models import Article, Membership, Project, Span, Target, text_hash

    rng = random.Random(4)
    slug = f"bench-api-{int(time.time())}"
    project = Project.objects.create(name=slug, slug=slug, overlap=2)
    Target.objects.create(project=project, key="troops", name="Troops", position=0)
    Target.objects.create(project=project, key="sanctions", name="Sanctions", position=1)
    articles = []
    for i in range(n_articles):
        text = " ".join(rng.choice(WORDS) for _ in range(500))[:3500]
        articles.append(Article(project=project, external_id=f"b{i}", title=f"Bench {i}", source="Bench",
                                text=text, content_hash=text_hash(text), priority=rng.choice([0, 0, 0, 1])))
    articles = Article.objects.bulk_create(articles, batch_size=1000)
    Span.objects.bulk_create([Span(article=a, start=s * 100, end=s * 100 + 8, label="PERSON", origin="model")
                              for a in articles for s in range(25)], batch_size=5000)
    User = get_user_model()
    tokens = []
    for i in range(n_clients):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{i}")
        Membership.objects.create(project=project, user=user, role=Membership.Role.ANNOTATOR)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return project.pk, tokens


def request(port: int, method: str, path: str, token: str, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    t0 = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    return resp.status, data, elapsed


def client(port, project_id, token, rounds, timings, errors, barrier):
    barrier.wait()
    for _ in range(rounds):
        status, data, dt = request(port, "POST", f"/api/v1/projects/{project_id}/tasks/next/", token)
        timings["next"].append(dt)
        if status == 204:
            return
        if status != 200:
            errors.append(("next", status, data[:200]))
            return
        task = json.loads(data)
        version = task["annotation"]["version"]
        spans = []
        for k in range(3):
            spans = [{"start": s * 100, "end": s * 100 + 8, "label": "PERSON"} for s in range(k + 2)]
            doc = {"version": version, "stance": {"troops": "AGAINST", "sanctions": "FAVOR"},
                   "frames": ["Political"], "primary_frame": "Political", "notes": f"save {k}", "spans": spans,
                   "rejected_suggestions": []}
            status, data, dt = request(port, "PUT", f"/api/v1/assignments/{task['id']}/annotation/", token, doc)
            timings["save"].append(dt)
            if status != 200:
                errors.append(("save", status, data[:200]))
                return
            version = json.loads(data)["version"]
        status, data, dt = request(port, "POST", f"/api/v1/assignments/{task['id']}/submit/", token,
                                   {"version": version})
        timings["submit"].append(dt)
        if status != 200:
            errors.append(("submit", status, data[:200]))
            return


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("set DATABASE_URL=postgres://… (the benchmark is for PostgreSQL)")
    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": "bench-" + "x" * 60, "ALLOWED_HOSTS": "127.0.0.1",
           "LOG_LEVEL": "WARNING", "CELERY_TASK_ALWAYS_EAGER": "true"}
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup_django()
    project_id, tokens = seed(args.articles, args.clients)
    from django.db import connection

    connection.close()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "annotate.wsgi", "-w", str(args.workers),
         "-b", f"127.0.0.1:{args.port}", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                request(args.port, "GET", "/api/v1/me/", tokens[0])
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for token in tokens:  # warm every worker's connection and caches
            request(args.port, "GET", "/api/v1/me/", token)
        timings: dict[str, list[float]] = defaultdict(list)
        errors: list = []
        barrier = threading.Barrier(args.clients)
        threads = [threading.Thread(target=client, args=(args.port, project_id, t, args.rounds, timings, errors,
                                                         barrier)) for t in tokens]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
    total = sum(len(v) for v in timings.values())
    print(f"gunicorn -w {args.workers} (sync), PostgreSQL, {args.clients} concurrent clients on 127.0.0.1, "
          f"{args.rounds} rounds each, {args.articles} articles; {total} requests in {wall:.1f} s "
          f"= {total / wall:.0f} req/s overall; errors: {len(errors)}")
    for name in ("next", "save", "submit"):
        v = timings[name]
        if v:
            print(f"{name:7s} n={len(v):5d}  p50={pct(v, 50) * 1000:6.1f} ms  p95={pct(v, 95) * 1000:6.1f} ms  "
                  f"p99={pct(v, 99) * 1000:6.1f} ms  mean={statistics.mean(v) * 1000:6.1f} ms  "
                  f"{len(v) / wall:6.1f} req/s")
    for e in errors[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
