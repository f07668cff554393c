"""API benchmark: latency of `next` and of an annotation save under 20 concurrent clients.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_api_bench STANDPOINT_VAR_DIR=/tmp/sp_api_bench_var
    .venv/bin/python tests/benchmarks/bench_api.py --clients 20 --rounds 15 --workers 4

Starts gunicorn (DEBUG=False; `--worker-class` sync or gthread, `--workers`) on 127.0.0.1
against PostgreSQL, seeds a fresh project (`--articles` articles of ~3,500 characters with 25
suggestions each, overlap 2) and one annotator + token per client. Each client (its own
process, so clients do not queue behind each other on one GIL, with one HTTP connection kept
open where the server allows it) runs `--rounds` rounds of: POST next (a *new* assignment: the
previous one was submitted) → PUT the whole annotation 3 times (autosave; stance, frames, 2–4
spans) → POST submit. So the request count is bounded: clients × rounds × 5. A warm-up of
`--warmup` rounds per client runs first and is not measured. Prints p50/p95/p99 and requests/s
per endpoint (that endpoint's requests over the whole run's wall time: all endpoints
interleave), and the CPU time per request of the gunicorn workers, PostgreSQL and the clients.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
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


class Connection:
    """One client's HTTP/1.1 connection, reopened when the server closes it (sync workers close
    after every response; gthread workers keep it alive). Written on a bare socket: the load
    generator shares the 2 cores with the server, and http.client spent ~0.5 ms per request."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None

    def request(self, method: str, path: str, token: str, body=None):
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
        t0 = time.perf_counter()
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(head + payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection before answering")
            buf += chunk
        header, _, data = buf.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip().lower() for k, v in (line.split(b":", 1) for line in lines[1:])}
        length = int(headers[b"content-length"]) if b"content-length" in headers else None
        while length is None or len(data) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        elapsed = time.perf_counter() - t0
        if length is None or headers.get(b"connection") == b"close":
            self.sock.close()
            self.sock = None
        return status, data, elapsed


def request(port: int, method: str, path: str, token: str, body=None):
    return Connection(port).request(method, path, token, body)


def client(port, project_id, token, rounds, timings, errors, barrier):
    barrier.wait()
    http_conn = Connection(port)

    def request(port, method, path, token, body=None):
        return http_conn.request(method, path, token, body)

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


def _client_process(port, project_id, token, rounds, barrier, results):
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list = []
    client(port, project_id, token, rounds, timings, errors, barrier)
    results.put((dict(timings), errors))


def run_clients(port, project_id, tokens, rounds):
    """One process per client; returns (timings by endpoint, errors, wall seconds, client CPU seconds)."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(tokens) + 1), ctx.Queue()
    procs = [ctx.Process(target=_client_process, args=(port, project_id, t, rounds, barrier, results))
             for t in tokens]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for proc in procs:
        proc.start()
    barrier.wait()
    t0 = time.perf_counter()
    collected = [results.get() for _ in procs]
    wall = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list = []
    for t, e in collected:
        for name, values in t.items():
            timings[name].extend(values)
        errors.extend(e)
    client_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return timings, errors, wall, client_cpu


def cpu_seconds(pids) -> float:
    """User + system CPU of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pids_of(pattern: str = "", parent: int | None = None) -> list[int]:
    args = ["pgrep", "-P", str(parent)] if parent else ["pgrep", "-f", pattern]
    return [int(p) for p in subprocess.run(args, capture_output=True, text=True).stdout.split()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=1, help="per worker, for gthread")
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
         "--worker-class", args.worker_class, "--threads", str(args.threads),
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
        if args.warmup:  # every worker imports and connects before the measured run
            run_clients(args.port, project_id, tokens, args.warmup)
        workers, postgres = pids_of(parent=gunicorn.pid), pids_of("postgres")
        server_cpu0, db_cpu0 = cpu_seconds(workers), cpu_seconds(postgres)
        timings, errors, wall, client_cpu = run_clients(args.port, project_id, tokens, args.rounds)
        server_cpu, db_cpu = cpu_seconds(workers) - server_cpu0, cpu_seconds(pids_of("postgres")) - db_cpu0
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
    total = sum(len(v) for v in timings.values())
    print(f"gunicorn -w {args.workers} ({args.worker_class}, {args.threads} thread(s)), PostgreSQL, {args.clients} "
          f"concurrent clients on 127.0.0.1, {args.rounds} rounds each, {args.articles} articles; {total} requests in "
          f"{wall:.1f} s = {total / wall:.0f} req/s overall; errors: {len(errors)}")
    for name in ("next", "save", "submit"):
        v = timings[name]
        if v:
            print(f"{name:7s} n={len(v):5d}  p50={pct(v, 50) * 1000:6.1f} ms  p95={pct(v, 95) * 1000:6.1f} ms  "
                  f"p99={pct(v, 99) * 1000:6.1f} ms  mean={statistics.mean(v) * 1000:6.1f} ms  "
                  f"{len(v) / wall:6.1f} req/s")
    if total:
        print(f"CPU per request: gunicorn workers {server_cpu / total * 1000:.2f} ms, PostgreSQL "
              f"{db_cpu / total * 1000:.2f} ms, clients {client_cpu / total * 1000:.2f} ms "
              f"({os.cpu_count()} cores shared by all three)")
    for e in errors[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
