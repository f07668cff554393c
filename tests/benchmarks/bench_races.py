"""Race benchmark (issue 13): N writers at once on one annotation, all based on the same version.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sp_races STANDPOINT_VAR_DIR=/tmp/sp_races_var
    .venv/bin/python tests/benchmarks/bench_races.py --writers 2 5 20 --rounds 30 --workers 3 --port 8100

Starts gunicorn (`--workers` sync workers, DEBUG=False) on 127.0.0.1 against PostgreSQL, seeds a
fresh project with one annotator (the writers are that annotator's tabs and scripts, with its
token). Each round opens N connections, sends every request but its last byte, then the last
bytes back to back, so the requests reach the server together; then it reads every answer and
the stored state. Exactly one writer may win a round (200); the others must get 409 and change
nothing. Modes (`--modes`):

- patch:  N PATCHes of `notes`, each its own text; the stored notes must be the winner's.
- put:    N PUTs of the whole document, each with its own span set; the stored spans must be
          exactly the winner's set.
- submit: one submit of a complete annotation against N-1 autosaves that clear a required
          stance (a new assignment each round); a submitted annotation must have every stance.

Prints one line per round (winners, answers by status, whether the stored state is the winner's)
and a summary per mode and N: rounds with exactly one winner, lost writes, wrong states.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import ROOT, _head, _parse, request, setup_django

TARGETS = ("troops", "sanctions")
COMPLETE = {"stance": {"troops": "AGAINST", "sanctions": "FAVOR"}, "frames": ["Political"],
            "primary_frame": "Political"}


def seed(n_articles: int):
    from django.contrib.auth import get_user_model

    from annotate.models import Article, Membership, Project, Target, text_hash
    from annotate.services.api_tokens import token_create

    slug = f"bench-races-{int(time.time())}"
    project = Project.objects.create(name=slug, slug=slug, overlap=1)
    for i, key in enumerate(TARGETS):
        Target.objects.create(project=project, key=key, name=key.title(), position=i)
    text = ("Vladimir Putin said Western troops would be legitimate targets, according to Reuters. " * 8).strip()
    Article.objects.bulk_create([Article(project=project, external_id=f"r{i}", title=f"Race {i}", source="Bench",
                                         text=text, content_hash=text_hash(text)) for i in range(n_articles)])
    user, _ = get_user_model().objects.get_or_create(username=f"{slug}-annotator")
    Membership.objects.create(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return project.pk, f"Authorization: Token {token_create(user=user, name='bench')[1]}"


def call(port, credential, method, path, body=None):
    status, data = request(port, method, path, credential, body)
    return status, (json.loads(data) if data else None)


def burst(port: int, credential: str, writes: list[tuple[str, str, dict]]) -> list[tuple[int, dict]]:
    """Send `writes` (method, path, body) together: all connected first, every request but its
    last byte sent, then the last bytes back to back. Returns (status, JSON body) in order."""
    socks, heads = [], []
    for method, path, body in writes:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = _head(method, path, credential, body).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
        sock.sendall(head[:-1])
        socks.append(sock)
        heads.append(head)
    for sock, head in zip(socks, heads, strict=True):
        sock.sendall(head[-1:])
    answers = []
    for sock in socks:
        buf = b""
        while (parsed := _parse(buf)) is None:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        sock.close()
        status, body = (parsed[0], parsed[1]) if parsed else (int(buf.split()[1]), b"")
        try:
            answers.append((status, json.loads(body) if body else {}))
        except ValueError:  # an HTML error page (a 500)
            answers.append((status, {"error": {"code": f"non-JSON {status}"}}))
    return answers


class Race:
    """One mode's rounds on one server: `round` returns (statuses, state ok, what was wrong)."""

    def __init__(self, port, credential, project_id):
        self.port, self.credential, self.project_id = port, credential, project_id
        self.task = None

    def new_task(self):
        status, task = call(self.port, self.credential, "POST", f"/api/v1/projects/{self.project_id}/tasks/next/")
        assert status == 200, (status, task)
        self.task = task
        return task

    def annotation(self):
        status, doc = call(self.port, self.credential, "GET", f"/api/v1/assignments/{self.task['id']}/annotation/")
        assert status == 200, (status, doc)
        return doc

    def url(self):
        return f"/api/v1/assignments/{self.task['id']}/annotation/"


def round_patch(race: Race, n: int, r: int):
    if race.task is None:
        race.new_task()
    version = race.annotation()["version"]
    notes = [f"round {r} writer {i}" for i in range(n)]
    answers = burst(race.port, race.credential, [("PATCH", race.url(), {"version": version, "notes": t})
                                                 for t in notes])
    winners = [i for i, (s, _) in enumerate(answers) if s == 200]
    stored = race.annotation()
    ok = len(winners) == 1 and stored["notes"] == notes[winners[0]] and stored["version"] == version + 1
    return answers, ok, "" if ok else f"stored notes {stored['notes']!r} at v{stored['version']}"


def round_put(race: Race, n: int, r: int):
    if race.task is None:
        race.new_task()
    version = race.annotation()["version"]
    sets = [[{"start": 0, "end": 8, "label": "PERSON"}, {"start": 10 + i, "end": 20 + i, "label": "PERSON"},
             {"start": 40 + r % 20, "end": 60 + i, "label": "ORG"}] for i in range(n)]
    answers = burst(race.port, race.credential, [("PUT", race.url(), {"version": version, **COMPLETE, "spans": s})
                                                 for s in sets])
    winners = [i for i, (s, _) in enumerate(answers) if s == 200]
    stored = sorted((s["start"], s["end"], s["label"]) for s in race.annotation()["spans"])
    sent = [sorted((s["start"], s["end"], s["label"]) for s in spans) for spans in sets]
    ok = len(winners) == 1 and stored == sent[winners[0]]
    which = "nobody's" if stored not in sent else f"writer {sent.index(stored)}'s"
    return answers, ok, "" if ok else f"stored span set is {which} ({len(stored)} spans)"


def round_submit(race: Race, n: int, r: int):
    task = race.new_task()
    status, doc = call(race.port, race.credential, "PATCH", race.url(), {"version": task["annotation"]["version"],
                                                                         **COMPLETE})
    assert status == 200, (status, doc)
    version = doc["version"]
    cleared = {"version": version, "stance": {"sanctions": "FAVOR"}}  # "troops" cleared
    writes = [("POST", f"/api/v1/assignments/{task['id']}/submit/", {"version": version})]
    writes += [("PATCH", race.url(), cleared)] * (n - 1)
    answers = burst(race.port, race.credential, writes)
    status, detail = call(race.port, race.credential, "GET", f"/api/v1/assignments/{task['id']}/")
    assert status == 200, (status, detail)
    submitted = detail["status"] == "submitted"
    stance = detail["annotation"]["stance"]
    winners = [i for i, (s, _) in enumerate(answers) if s == 200]
    complete = set(stance) == set(TARGETS)
    ok = winners == [0] and complete if submitted else len(winners) == 1 and winners[0] > 0
    if not submitted:  # free the queue: the next round takes a new article
        call(race.port, race.credential, "POST", f"/api/v1/assignments/{task['id']}/skip/", {"reason": "bench round"})
    wrong = "submitted without a required stance" if submitted and not complete else ""
    return answers, ok, wrong


MODES = {"patch": round_patch, "put": round_put, "submit": round_submit}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, nargs="+", default=[2, 5, 20])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--quiet", action="store_true", help="summary only, no line per round")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("set DATABASE_URL=postgres://… (the benchmark is for PostgreSQL)")
    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": "bench-" + "x" * 60, "ALLOWED_HOSTS": "127.0.0.1",
           "LOG_LEVEL": "ERROR", "CELERY_TASK_ALWAYS_EAGER": "true"}
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup_django()
    submit_rounds = len(args.writers) * args.rounds if "submit" in args.modes else 0
    project_id, credential = seed(submit_rounds + 2)
    from django.db import connection

    connection.close()
    log_path = Path(tempfile.gettempdir()) / f"bench_races_gunicorn_{args.port}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "annotate.wsgi", "-w", str(args.workers),
         "-b", f"127.0.0.1:{args.port}", "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT)
    summary = []
    try:
        deadline = time.time() + 30
        while True:
            try:
                request(args.port, "GET", "/api/v1/me/", credential)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        print(f"gunicorn -w {args.workers} (sync) on 127.0.0.1:{args.port}, PostgreSQL; "
              f"{args.rounds} rounds per mode and N")
        for mode in args.modes:
            race = Race(args.port, credential, project_id)
            for n in args.writers:
                one_winner = wrong = 0
                winners_total, statuses_total = Counter(), Counter()
                for r in range(args.rounds):
                    answers, ok, problem = MODES[mode](race, n, r)
                    statuses = Counter(s for s, _ in answers)
                    winners = statuses[200]
                    one_winner += winners == 1
                    wrong += not ok
                    winners_total[winners] += 1
                    statuses_total.update(statuses)
                    if not args.quiet:
                        codes = Counter(b.get("error", {}).get("code", "") for s, b in answers if s != 200)
                        print(f"{mode:6s} N={n:2d} round {r + 1:2d}: winners={winners:2d}  "
                              f"{dict(sorted(statuses.items()))}  {dict(codes)}  {'ok' if ok else 'WRONG: ' + problem}")
                summary.append((mode, n, one_winner, wrong, winners_total, statuses_total))
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=20)
        log.close()
    print(f"\nsummary (exactly one winner in every round is the bar; server log: {log_path})")
    for mode, n, one_winner, wrong, winners_total, statuses_total in summary:
        lost = sum((w - 1) * c for w, c in winners_total.items() if w > 1)
        print(f"{mode:6s} N={n:2d}: one winner in {one_winner}/{args.rounds} rounds; wrong stored state in "
              f"{wrong}/{args.rounds}; acknowledged writes lost: {lost}; winners per round "
              f"{dict(sorted(winners_total.items()))}; answers {dict(sorted(statuses_total.items()))}")
    if any(one_winner != args.rounds or wrong for _, _, one_winner, wrong, _, _ in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
