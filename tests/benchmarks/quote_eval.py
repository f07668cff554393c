"""Quotation and speaker evaluation against a gold file (seed_quotes.jsonl format).

    .venv/bin/python tests/benchmarks/quote_eval.py ARTICLES.jsonl GOLD_QUOTES.jsonl [--model NAME] [-v]

Prints, with exact span match (marks included): precision / recall / F1 for direct+partial
quotes together and per kind (span and kind both right), speaker accuracy on direct (and partial)
quotes — over all gold quotes of that kind, and over those whose span was found — and how many
scare quotes wrongly got a speaker. Runs the same code path as the server (annotate.nlp.extract).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)  # DEBUG is off by default: a key is required


def _norm(name: str | None) -> str:
    return " ".join((name or "").replace("’", "'").lower().split())


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(gold: list[dict], predicted: dict[str, list[dict]]) -> dict:
    pred_rows = [dict(q, article_id=a) for a, qs in predicted.items() for q in qs]
    by_span = {(q["article_id"], q["start"], q["end"]): q for q in pred_rows}
    out: dict = {}
    speech = ("direct", "partial")
    g = {(q["article_id"], q["start"], q["end"]) for q in gold if q["kind"] in speech}
    p = {(q["article_id"], q["start"], q["end"]) for q in pred_rows if q["kind"] in speech}
    out["direct+partial"] = (*prf(len(g & p), len(p), len(g)), len(g & p), len(p), len(g))
    for kind in ("direct", "partial", "scare"):
        gk = {(q["article_id"], q["start"], q["end"]) for q in gold if q["kind"] == kind}
        pk = {(q["article_id"], q["start"], q["end"]) for q in pred_rows if q["kind"] == kind}
        out[kind] = (*prf(len(gk & pk), len(pk), len(gk)), len(gk & pk), len(pk), len(gk))
    for kind in speech:
        rows = [q for q in gold if q["kind"] == kind]
        found = [q for q in rows if (q["article_id"], q["start"], q["end"]) in by_span]
        right = [q for q in found
                 if _norm(by_span[(q["article_id"], q["start"], q["end"])]["speaker"]) == _norm(q["speaker"])]
        out[f"speaker_{kind}"] = (len(right), len(rows), len(found))
    scare = [q for q in gold if q["kind"] == "scare"]
    out["scare_with_speaker"] = sum(
        1 for q in scare if (k := (q["article_id"], q["start"], q["end"])) in by_span and by_span[k]["speaker"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles")
    parser.add_argument("gold")
    parser.add_argument("--model", default=None, help="SPACY_MODEL (package or path); default: settings")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from annotate.nlp.extract import process_texts
    from annotate.nlp.loading import get_pipeline

    articles = [json.loads(line) for line in Path(args.articles).read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = [json.loads(line) for line in Path(args.gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = {q["article_id"] for q in gold}
    articles = [a for a in articles if a["id"] in ids]
    pipeline = get_pipeline(args.model)
    t0 = time.perf_counter()
    predicted = {r.key: r.quotes for r in process_texts(pipeline, ((a["id"], a["text"]) for a in articles))}
    elapsed = time.perf_counter() - t0
    res = evaluate(gold, predicted)

    print(f"pipeline {pipeline.label} (trained={pipeline.trained}); {len(articles)} articles, "
          f"{len(gold)} gold quotes; {elapsed:.2f} s")
    for key in ("direct+partial", "direct", "partial", "scare"):
        p, r, f, tp, n_pred, n_gold = res[key]
        print(f"{key:15s} P={p:.3f} R={r:.3f} F1={f:.3f}  (tp {tp}, predicted {n_pred}, gold {n_gold})")
    for kind in ("direct", "partial"):
        right, total, found = res[f"speaker_{kind}"]
        print(f"speaker {kind:8s} {right}/{total} = {right / total if total else 0:.3f} of gold; "
              f"{right}/{found} = {right / found if found else 0:.3f} of found")
    print(f"scare quotes given a speaker: {res['scare_with_speaker']}")

    if args.verbose:
        texts = {a["id"]: a["text"] for a in articles}
        by_span = {(a, q["start"], q["end"]): q for a, qs in predicted.items() for q in qs}
        gold_spans = {(q["article_id"], q["start"], q["end"]) for q in gold}
        for q in gold:
            k = (q["article_id"], q["start"], q["end"])
            pq = by_span.get(k)
            if pq is None:
                print("MISSED ", q["article_id"], q["kind"], repr(q["quote_text"][:70]))
            elif pq["kind"] != q["kind"] or (q["kind"] != "scare" and _norm(pq["speaker"]) != _norm(q["speaker"])):
                ctx = texts[q["article_id"]][max(0, q["start"] - 60) : q["start"]].replace("\n", "/")
                print(f"WRONG  {q['article_id']} gold {q['kind']}/{q['speaker']} got {pq['kind']}/{pq['speaker']}"
                      f"  …{ctx}| {q['quote_text'][:50]!r}")
        for k, pq in by_span.items():
            if k not in gold_spans:
                print("EXTRA  ", k[0], pq["kind"], repr(pq["text"][:70]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
