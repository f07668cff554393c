"""Suggestion-model benchmark: a simulated project from labelled import-format JSONL.

    .venv/bin/python tests/benchmarks/bench_model.py TRAIN.jsonl TEST.jsonl [--out PRED.jsonl]

Every line has `gold` ({"stance": {target: label}, "frames": [...], "primary_frame": ...}); the
project's targets are the keys found in the gold stances, its stance labels the values found
(its frames those found, if any). It imports TRAIN with its gold, trains through the task the
worker runs (annotate.model_train, in-process), imports TEST without its gold, computes the
predictions through the worker's task (annotate.model_predict), reads the stored predictions and
scores them against TEST's gold. Printed: per target macro-F1 and F_avg (mean F1 of the favour and
against labels), frame micro/macro-F1 where frames exist, the majority-class baseline, and the
classic reference — TF-IDF (the same word and character n-grams) + LinearSVC per target, trained
on the same split in this process — then, last, one JSON line:
{"f_avg", "macro_f1", "baseline_f_avg", "train_seconds", "predict_seconds", "articles"}.
`--out` writes one line per TEST article: {"id", "stance": {target: label}, "probabilities": {target: {label: p}}}.

Uses DATABASE_URL if set (a PostgreSQL database of your own), else a throwaway SQLite database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup(tmp: str) -> None:
    os.environ.setdefault("STANDPOINT_VAR_DIR", tmp)
    os.environ["MODEL_ROOT"] = str(Path(tmp) / "models")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-reference", action="store_true", help="skip the TF-IDF + LinearSVC reference")
    args = parser.parse_args(argv)
    train_rows, test_rows = _read(args.train), _read(args.test)
    with tempfile.TemporaryDirectory(prefix="standpoint-bench-model-") as tmp:
        _setup(tmp)
        return _run(args, train_rows, test_rows, Path(tmp))


def _run(args, train_rows: list[dict], test_rows: list[dict], tmp: Path) -> int:
    import numpy as np

    from annotate import ml
    from annotate.label_schema import default_label_schema
    from annotate.models import Article, ArticlePrediction, Project, Target, TrainedModel
    from annotate.services.imports import articles_import
    from annotate.tasks.models import model_predict_task, model_train_task

    targets = sorted({k for r in train_rows + test_rows for k in (r.get("gold") or {}).get("stance", {})})
    labels = sorted({v for r in train_rows + test_rows for v in (r.get("gold") or {}).get("stance", {}).values()})
    frames = sorted({f for r in train_rows + test_rows for f in (r.get("gold") or {}).get("frames", [])}
                    | {r["gold"]["primary_frame"] for r in train_rows + test_rows
                       if (r.get("gold") or {}).get("primary_frame")})
    schema = {**default_label_schema(), "stance_labels": labels, "frames_required": "none",
              "primary_frame_required": False}
    if frames:
        schema["frames"] = frames
    slug = f"bench-model-{os.getpid()}"
    project = Project.objects.create(name="bench model", slug=slug, label_schema=schema)
    for i, key in enumerate(targets):
        Target.objects.create(project=project, key=key, name=key.replace("-", " ").replace("_", " "), position=i)
    try:
        train_file, test_file = tmp / "train.jsonl", tmp / "test.jsonl"
        train_file.write_text("".join(json.dumps(r) + "\n" for r in train_rows), encoding="utf-8")
        test_ids = [str(r.get("id") or f"test-{i}") for i, r in enumerate(test_rows)]
        test_file.write_text("".join(json.dumps({**{k: v for k, v in r.items() if k != "gold"}, "id": tid}) + "\n"
                                     for r, tid in zip(test_rows, test_ids, strict=True)), encoding="utf-8")
        articles_import(project=project, source=train_file, queue_preannotation=False, queue_model=False)
        start, cpu = time.perf_counter(), time.process_time()
        result = model_train_task.apply(args=(project.pk, "benchmark")).get()
        train_seconds, train_cpu = time.perf_counter() - start, time.process_time() - cpu
        model = TrainedModel.objects.get(project=project, version=result["version"])
        if model.status != TrainedModel.Status.READY:
            print(f"training failed: {model.error}", file=sys.stderr)
            return 1
        report = articles_import(project=project, source=test_file, queue_preannotation=False, queue_model=False)
        start, cpu = time.perf_counter(), time.process_time()
        model_predict_task.apply(args=(project.pk, list(report.article_ids))).get()
        predict_seconds, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
        by_ext = dict(Article.objects.filter(project=project, external_id__in=test_ids).values_list("external_id", "pk"))
        preds = {p.article_id: p for p in ArticlePrediction.objects.filter(article_id__in=by_ext.values())}
        predicted = [preds.get(by_ext.get(tid)) for tid in test_ids]
        ref = None if args.no_reference else _reference(ml, np, train_rows, test_rows, targets, labels)
        summary = _report(ml, model, test_rows, predicted, targets, labels, frames, ref, train_seconds,
                          predict_seconds)
        # On a shared machine wall time includes waiting for the CPU; CPU time is this process's own.
        print(f"CPU time (this process): train {train_cpu:.1f} s, predict {predict_cpu:.1f} s")
        if args.out:
            with args.out.open("w", encoding="utf-8") as fh:
                for tid, p in zip(test_ids, predicted, strict=True):
                    fh.write(json.dumps({"id": tid, "stance": p.stance if p else {},
                                         "probabilities": p.probabilities if p else {}}) + "\n")
        print(json.dumps(summary))
    finally:
        Project.objects.filter(pk=project.pk).delete()
    return 0


def _reference(ml, np, train_rows, test_rows, targets, labels) -> dict:
    """The classic baseline: TF-IDF over the article text, LinearSVC per target, same split."""
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    train_texts = [ml.article_text(r.get("title", ""), r["text"]) for r in train_rows]
    featurizer = ml.Featurizer().fit(train_texts)
    x_train = featurizer.transform(train_texts)
    x_test = featurizer.transform([ml.article_text(r.get("title", ""), r["text"]) for r in test_rows])
    out = {}
    for key in targets:
        rows = [i for i, r in enumerate(train_rows) if key in r["gold"].get("stance", {})]
        test = [i for i, r in enumerate(test_rows) if key in r.get("gold", {}).get("stance", {})]
        y = [train_rows[i]["gold"]["stance"][key] for i in rows]
        if len(set(y)) < 2 or not test:
            continue
        clf = LinearSVC(C=1.0).fit(x_train[rows], y)
        out[key] = ml.stance_scores([test_rows[i]["gold"]["stance"][key] for i in test],
                                    list(clf.predict(x_test[test])), labels)
    out["_seconds"] = time.perf_counter() - start
    return out


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def _report(ml, model, test_rows, predicted, targets, labels, frames, ref, train_seconds, predict_seconds) -> dict:
    print(f"model v{model.version}: {model.algorithm}; trained on {model.train_size} articles "
          f"in {train_seconds:.1f} s (incl. {len(ml.curve_sizes(model.train_size)) + 1}-point CV learning curve)")
    print(f"{'target':24} {'n':>5} {'macro-F1':>9} {'F_avg':>7} {'base F_avg':>10} {'SVM macro':>10} {'SVM F_avg':>10}")
    rows_f, rows_m, rows_b = [], [], []
    for key in targets:
        idx = [i for i, r in enumerate(test_rows) if key in r.get("gold", {}).get("stance", {})]
        if not idx:
            continue
        y_true = [test_rows[i]["gold"]["stance"][key] for i in idx]
        y_pred = [(predicted[i].stance.get(key) if predicted[i] else None) or "" for i in idx]
        scores = ml.stance_scores(y_true, y_pred, labels)
        train_counts = model.label_counts.get("stance", {}).get(key, {})
        majority = Counter(train_counts).most_common(1)[0][0] if train_counts else y_true[0]
        base = ml.stance_scores(y_true, [majority] * len(y_true), labels)
        r = (ref or {}).get(key, {})
        rows_f.append(scores["f_avg"])
        rows_m.append(scores["macro_f1"])
        rows_b.append(base["f_avg"])
        fmt = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{key[:24]:24} {len(idx):5d} {fmt(scores['macro_f1']):>9} {fmt(scores['f_avg']):>7} "
              f"{fmt(base['f_avg']):>10} {fmt(r.get('macro_f1')):>10} {fmt(r.get('f_avg')):>10}")
    summary = {"f_avg": _mean(rows_f), "macro_f1": _mean(rows_m), "baseline_f_avg": _mean(rows_b),
               "train_seconds": round(train_seconds, 2), "predict_seconds": round(predict_seconds, 2),
               "articles": len(test_rows)}
    if ref:
        ref_f = _mean([v["f_avg"] for k, v in ref.items() if k != "_seconds"])
        ref_m = _mean([v["macro_f1"] for k, v in ref.items() if k != "_seconds"])
        print(f"{'mean':24} {'':5} {summary['macro_f1'] or 0:9.4f} {summary['f_avg'] or 0:7.4f} "
              f"{summary['baseline_f_avg'] or 0:10.4f} {ref_m or 0:10.4f} {ref_f or 0:10.4f}")
        print(f"reference TF-IDF + LinearSVC (article text only, no CV): {ref['_seconds']:.1f} s to fit and predict; "
              f"F_avg difference (ours - reference): {(summary['f_avg'] or 0) - (ref_f or 0):+.4f}")
    if frames:
        truth = [r.get("gold", {}).get("frames") for r in test_rows]
        rows = [i for i, t in enumerate(truth) if t is not None]
        if rows:
            from sklearn.metrics import f1_score

            y = [[f in set(truth[i]) for f in frames] for i in rows]
            p = [[f in set(predicted[i].frames if predicted[i] else []) for f in frames] for i in rows]
            print(f"frames ({len(rows)} articles): micro-F1 {f1_score(y, p, average='micro', zero_division=0):.4f}, "
                  f"macro-F1 {f1_score(y, p, average='macro', zero_division=0):.4f}")
    cv = model.metrics
    print(f"cross-validated on TRAIN (what the dashboard shows): F_avg {cv.get('f_avg')}, macro-F1 "
          f"{cv.get('macro_f1')}, majority baseline F_avg {cv.get('baseline_f_avg')}")
    print(f"timings: train {train_seconds:.1f} s for {model.train_size} labelled articles "
          f"({train_seconds / max(model.train_size, 1) * 1000:.1f} s per 1,000); predict {predict_seconds:.1f} s "
          f"for {len(test_rows)} articles ({predict_seconds / max(len(test_rows), 1) * 10000:.1f} s per 10k)")
    return summary


if __name__ == "__main__":
    sys.exit(main())
