"""API benchmark: latency of `next` and of an annotation save under 20 concurrent clients.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_api_bench STANDPOINT_VAR_DIR=/tmp/sp_api_bench_var
    .venv/bin/python tests/benchmarks/bench_api.py --clients 20 --rounds 15 --workers 4

Starts gunicorn (DEBUG=False; `--worker-class` sync or gthread, `--workers`) on 127.0.0.1
against PostgreSQL, seeds a fresh project (`--articles` articles of ~3,500 characters with 25
suggestions each, overlap 2; `--full N`: the first N in queue order already have their 2
annotators, as late in a project) and one annotator per client, with a token (or, `--auth
session`, the session cookie and CSRF token of a signed-in browser). The clients (one event
loop in this process, each with its own connection, kept open where the server allows it) each
run `--rounds` rounds of: POST next (a *new* assignment: the previous one was submitted) → PUT
the whole annotation 3 times (autosave; stance, frames, 2–4 spans) → POST submit. So the request
count is bounded: clients × rounds × 5. A warm-up of `--warmup` rounds per client runs first and
is not measured. Prints p50/p95/p99 and requests/s
per endpoint (that endpoint's requests over the whole run's wall time: all endpoints
interleave), and the CPU time per request of the gunicorn workers, PostgreSQL and the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import selectors
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
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(n_articles: int, n_clients: int, n_full: int = 0, auth: str = "token"):
    from django.contrib.auth import get_user_model

    from annotate.models import Article, Assignment, Membership, Project, Span, Target, text_hash
    from annotate.services.api_tokens import token_create
    from annotate.services.queue import queue_statistics_refresh

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
    if n_full:  # late in a project: the first n_full articles in queue order already have `overlap` annotators
        fillers = [User.objects.get_or_create(username=f"bench-filler-{k}")[0] for k in range(project.overlap)]
        ahead = sorted(articles, key=lambda a: (-a.priority, a.pk))[:n_full]
        Assignment.objects.bulk_create([Assignment(project=project, article=a, annotator=u, status="submitted")
                                        for a in ahead for u in fillers], batch_size=5000)
    queue_statistics_refresh(new_articles=len(articles))  # as an import does
    credentials = []
    for i in range(n_clients):
        user, _ = User.objects.get_or_create(username=f"bench-annotator-{i}")
        Membership.objects.create(project=project, user=user, role=Membership.Role.ANNOTATOR)
        credentials.append(f"Authorization: Token {token_create(user=user, name='bench')[1]}" if auth == "token"
                           else browser_session(user))
    return project.pk, credentials


def browser_session(user) -> str:
    """The headers a signed-in browser sends: its session cookie, and the CSRF token (cookie and
    header) that session-authenticated writes need."""
    from django.conf import settings
    from django.test import Client
    from django.utils.crypto import get_random_string

    browser = Client()
    browser.force_login(user)  # the session a login through the web UI leaves
    csrf = get_random_string(32)
    return (f"Cookie: {settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}\r\nX-CSRFToken: {csrf}")


def _head(method: str, path: str, credential: str, body) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{credential}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload


def _parse(buf: bytes) -> tuple[int, bytes, bool] | None:
    """(status, body, server closes) once `buf` holds a whole response, else None."""
    header, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = header.split(b"\r\n")
    headers = {k.strip().lower(): v.strip().lower() for k, v in (line.split(b":", 1) for line in lines[1:])}
    length = int(headers.get(b"content-length", b"-1"))
    if length < 0 or len(body) < length:
        return None  # (no Content-Length: complete when the server closes, see Client.readable)
    return int(lines[0].split()[1]), body[:length], headers.get(b"connection") == b"close"


def request(port: int, method: str, path: str, credential: str, body=None):
    """One request on its own connection (readiness checks)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_head(method, path, credential, body).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        buf = b""
        while chunk := sock.recv(65536):
            buf += chunk
    header, _, data = buf.partition(b"\r\n\r\n")
    return int(header.split()[1]), data


def flow(project_id: int, rounds: int, timings, errors):
    """One annotator, `rounds` times: next → 3 autosaves (2–4 spans) → submit. A generator: yields
    (endpoint, method, path, body), is sent back (status, body, seconds)."""
    for _ in range(rounds):
        status, data, dt = yield "next", "POST", f"/api/v1/projects/{project_id}/tasks/next/", None
        timings["next"].append(dt)
        if status == 204:
            return
        if status != 200:
            errors.append(("next", status, data[:200]))
            return
        task = json.loads(data)
        version = task["annotation"]["version"]
        for k in range(3):
            spans = [{"start": s * 100, "end": s * 100 + 8, "label": "PERSON"} for s in range(k + 2)]
            doc = {"version": version, "stance": {"troops": "AGAINST", "sanctions": "FAVOR"},
                   "frames": ["Political"], "primary_frame": "Political", "notes": f"save {k}", "spans": spans,
                   "rejected_suggestions": []}
            status, data, dt = yield "save", "PUT", f"/api/v1/assignments/{task['id']}/annotation/", doc
            timings["save"].append(dt)
            if status != 200:
                errors.append(("save", status, data[:200]))
                return
            version = json.loads(data)["version"]
        status, data, dt = yield "submit", "POST", f"/api/v1/assignments/{task['id']}/submit/", {"version": version}
        timings["submit"].append(dt)
        if status != 200:
            errors.append(("submit", status, data[:200]))
            return


class Client:
    """One annotator's connection in the event loop (non-blocking socket, reopened per request
    when the server closes it: sync workers do after every response)."""

    def __init__(self, port: int, credential: str, steps):
        self.port, self.credential, self.steps = port, credential, steps
        self.sock: socket.socket | None = None
        self.out = self.buf = b""
        self.t0 = 0.0

    def start(self, selector, reply=None) -> bool:
        """Send the next request (after feeding `reply` to the flow); False when the flow is done."""
        try:
            _, method, path, body = self.steps.send(reply) if reply is not None else next(self.steps)
        except StopIteration:
            return False
        self.out, self.buf = _head(method, path, self.credential, body), b""
        self.t0 = time.perf_counter()
        if self.sock is None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.setblocking(False)
            self.sock.connect_ex(("127.0.0.1", self.port))
            selector.register(self.sock, selectors.EVENT_WRITE, self)
        else:
            selector.modify(self.sock, selectors.EVENT_WRITE, self)
        return True

    def writable(self, selector) -> None:
        sent = self.sock.send(self.out)
        self.out = self.out[sent:]
        if not self.out:
            selector.modify(self.sock, selectors.EVENT_READ, self)

    def readable(self, selector) -> bool:
        """Read; when the response is whole, start the next request. False when the flow is done."""
        chunk = self.sock.recv(262144)
        self.buf += chunk
        parsed = _parse(self.buf)
        if parsed is None and chunk:
            return True
        elapsed = time.perf_counter() - self.t0
        if parsed is None:  # closed without Content-Length: the body is what came
            header, _, body = self.buf.partition(b"\r\n\r\n")
            parsed = int(header.split()[1]), body, True
        status, body, closes = parsed
        if closes:
            selector.unregister(self.sock)
            self.sock.close()
            self.sock = None
        if self.start(selector, (status, body, elapsed)):
            return True
        if self.sock is not None:
            selector.unregister(self.sock)
            self.sock.close()
        return False


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_clients(port, project_id, credentials, rounds):
    """All clients at once, in one process and one event loop (selectors): the load generator
    shares the 2 cores with the server, so it must cost as little as it can (a process or
    thread per client cost ~0.3–0.5 ms of CPU per request). Returns (timings by endpoint,
    errors, wall seconds, client CPU seconds)."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list = []
    selector = selectors.DefaultSelector()
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    running = sum(Client(port, credential, flow(project_id, rounds, timings, errors)).start(selector)
                  for credential in credentials)
    while running:
        for key, events in selector.select():
            client = key.data
            if events & selectors.EVENT_WRITE:
                client.writable(selector)
            elif not client.readable(selector):
                running -= 1
    wall, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    return timings, errors, wall, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)


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
    parser.add_argument("--full", type=int, default=0,
                        help="articles at the head of the queue that already have `overlap` annotators (a late project)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--auth", choices=["token", "session"], default="token",
                        help="session: as the web UI (session cookie + CSRF token) instead of API tokens")
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
    project_id, credentials = seed(args.articles, args.clients, args.full, args.auth)
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
                request(args.port, "GET", "/api/v1/me/", credentials[0])
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        if args.warmup:  # every worker imports and connects before the measured run
            run_clients(args.port, project_id, credentials, args.warmup)
        workers, postgres = pids_of(parent=gunicorn.pid), pids_of("postgres")
        server_cpu0, db_cpu0 = cpu_seconds(workers), cpu_seconds(postgres)
        timings, errors, wall, client_cpu = run_clients(args.port, project_id, credentials, args.rounds)
        server_cpu, db_cpu = cpu_seconds(workers) - server_cpu0, cpu_seconds(pids_of("postgres")) - db_cpu0
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
    total = sum(len(v) for v in timings.values())
    print(f"gunicorn -w {args.workers} ({args.worker_class}, {args.threads} thread(s)), PostgreSQL, {args.auth} auth, "
          f"{args.clients} "
          f"concurrent clients on 127.0.0.1, {args.rounds} rounds each, {args.articles} articles ({args.full} full); "
          f"{total} requests in "
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
