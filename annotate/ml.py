"""The suggestion models: per target a stance classifier, per project a multi-label frame
classifier and a primary-frame classifier, on word and character n-gram TF-IDF.

Pure functions over texts and labels (no database): annotate.services.models feeds them the
project's labels and stores what they return; tests/benchmarks/bench_model.py measures them.

Why this design (measured with bench_model.py, figures in the README):
- TF-IDF over word 1-2-grams and character 2-5-grams with a linear model is the classic strong
  baseline for stance (SemEval-2016 task 6: the SVM n-gram baseline beat most entries), trains
  in seconds on CPU and needs no model download. spaCy's textcat bow is the same family, slower
  to train here and without calibrated probabilities.
- LogisticRegression, not LinearSVC: on the benchmark its F_avg is within noise of the SVM's
  (see the README table), and it gives probabilities directly — the suggestion's confidence and
  the uncertainty queue's margin — where an SVM needs CalibratedClassifierCV (3-5 fits more).
- The vectorizer is fitted once on every text of the project (labelled or not: IDF uses no
  label), so cross-validation only refits the linear models and stays fast.
- Stance features: the whole article plus, separately weighted, the sentences that mention the
  target (its name, key or aliases): an article is often about several targets at once.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

ARTEFACT_FORMAT = 1
CV_FOLDS = 5
CURVE_FOLDS = 3  # also the frames' CV: one binary model per frame and fold
SEED = 13
# Character n-grams are the costly part of the features; the opening of a news article carries
# its stance (lede, headline), and beyond this the cost grows with no measured gain.
CHAR_LIMIT = 3000
MENTION_WEIGHT = 1.0

FAVOR_RE = re.compile(r"^(favou?r|pro|support|supports|positive|for|agree)", re.I)
AGAINST_RE = re.compile(r"^(against|anti|oppose|opposes|con|negative|disagree)", re.I)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def favor_against(labels: Sequence[str]) -> list[str]:
    """The labels that mean favour and against (SemEval's FAVOR/AGAINST; PRO/CON, SUPPORT/OPPOSE
    …): F_avg is the mean F1 over these. Neutral and unrelated labels are left out, as SemEval does."""
    return [label for label in labels if FAVOR_RE.match(label) or AGAINST_RE.match(label)]


def libraries() -> dict[str, str]:
    import joblib
    import scipy

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "joblib": joblib.__version__}


def algorithm_name() -> str:
    return "tfidf(word 1-2, char_wb 3-5; article + target-mention sentences) + one-vs-rest LogisticRegression(C=3)"


# --- features --------------------------------------------------------------------------------


class Featurizer:
    """Word and character TF-IDF, fitted once per training run."""

    def __init__(self) -> None:
        self.word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.9, sublinear_tf=True,
                                    max_features=200_000, dtype=np.float32)
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                                    max_features=300_000, dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> Featurizer:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Fit and return the features of `texts` (one tokenisation pass, not two)."""
        texts = [t or " " for t in texts]
        padded = texts if len(texts) >= 2 else [*texts, *texts]  # min_df=2: one document leaves no vocabulary
        try:
            words = self.word.fit_transform(padded)
        except ValueError:  # no token twice anywhere (tiny projects): keep every term
            words = self.word.set_params(min_df=1, max_df=1.0).fit_transform(padded)
        short = [t[:CHAR_LIMIT] for t in padded]
        try:
            chars = self.char.fit_transform(short)
        except ValueError:
            chars = self.char.set_params(min_df=1).fit_transform(short)
        return sp.hstack([words, chars], format="csr", dtype=np.float32)[: len(texts)]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = [t or "" for t in texts]
        return sp.hstack([self.word.transform(texts), self.char.transform([t[:CHAR_LIMIT] for t in texts])],
                         format="csr", dtype=np.float32)


def mention_names(key: str, name: str, aliases: Sequence[str] | None) -> list[str]:
    names = {n.strip() for n in (name, key.replace("-", " ").replace("_", " "), *(aliases or [])) if n and n.strip()}
    return sorted(names, key=len, reverse=True)


def mention_text(text: str, names: Sequence[str]) -> str:
    """The sentences of `text` that mention one of `names` (whole words, any case)."""
    if not names:
        return ""
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
    return " ".join(s for s in _SENTENCE_RE.split(text) if pattern.search(s))


def article_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title else text


# --- classifiers -----------------------------------------------------------------------------


def _classifier():
    # One-vs-rest liblinear: 3-5x faster than the multinomial lbfgs fit on these sparse, wide
    # matrices (scikit-learn 1.9's liblinear is binary only), same F_avg on the benchmark. The
    # dual solver: features far outnumber articles here, where the primal one was 15x slower.
    return OneVsRestClassifier(LogisticRegression(C=3.0, solver="liblinear", dual=True))


class _Constant:
    """A 'classifier' for a fold whose training part holds one class only."""

    def __init__(self, label: str) -> None:
        self.classes_ = np.array([label])

    def predict(self, x) -> np.ndarray:
        return np.array([self.classes_[0]] * x.shape[0])


def _fit(x, y: np.ndarray, make=_classifier):
    if len(set(y)) < 2:
        return _Constant(y[0])
    clf = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return clf


def _probabilities(clf, x) -> tuple[list[str], np.ndarray]:
    if isinstance(clf, _Constant):
        return list(clf.classes_), np.ones((x.shape[0], 1))
    proba = clf.predict_proba(x)
    return [str(c) for c in clf.classes_], proba


def stance_scores(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """macro-F1 over the labels present, F1 per label, F_avg over the favour/against labels present."""
    present = sorted(set(y_true) | set(y_pred))
    per = f1_score(y_true, y_pred, labels=present, average=None, zero_division=0)
    per_label = {label: round(float(v), 4) for label, v in zip(present, per, strict=True)}
    true_present = sorted(set(y_true))
    macro = float(f1_score(y_true, y_pred, labels=true_present, average="macro", zero_division=0))
    fa = [label for label in favor_against(labels) if label in set(y_true)]
    f_avg = float(np.mean([per_label.get(label, 0.0) for label in fa])) if fa else None
    return {"macro_f1": round(macro, 4), "f_avg": None if f_avg is None else round(f_avg, 4), "f1": per_label,
            "n": len(y_true)}


def _folds(y: np.ndarray, k: int):
    counts = Counter(y.tolist())
    k = max(2, min(k, max(counts.values()), len(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class rarer than k: stratified as far as it goes
        if min(counts.values()) >= 2:
            return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
        return list(KFold(n_splits=k, shuffle=True, random_state=SEED).split(np.zeros(len(y))))


def cross_validate_stance(x, y: np.ndarray, labels: Sequence[str], k: int = CV_FOLDS) -> dict[str, Any]:
    """Out-of-fold predictions of the model and of the majority-class baseline on the same folds."""
    predicted = np.empty(len(y), dtype=object)
    baseline = np.empty(len(y), dtype=object)
    for train, test in _folds(y, k):
        clf = _fit(x[train], y[train])
        predicted[test] = clf.predict(x[test])
        baseline[test] = Counter(y[train].tolist()).most_common(1)[0][0]
    model = stance_scores(y.tolist(), predicted.tolist(), labels)
    base = stance_scores(y.tolist(), baseline.tolist(), labels)
    return {**model, "baseline": {"macro_f1": base["macro_f1"], "f_avg": base["f_avg"]}}


def curve_sizes(n: int, start: int = 20) -> list[int]:
    """Label counts below `n` for the learning curve (`n` itself is the model's own CV point)."""
    sizes, s = [], start
    while s < n:
        sizes.append(s)
        s *= 2
    return sizes


# --- training --------------------------------------------------------------------------------


@dataclass
class TargetData:
    key: str
    names: list[str]
    article_index: list[int]  # rows of the texts that carry a label for this target
    labels: list[str]


@dataclass
class TrainingSet:
    texts: list[str]  # every article of the project (labelled first), for the vectorizer
    stance_labels: list[str]
    targets: list[TargetData]
    frames: list[str] = field(default_factory=list)  # the codebook's frames
    frame_rows: list[int] = field(default_factory=list)  # rows that carry frame labels
    frame_labels: list[list[str]] = field(default_factory=list)
    primary_labels: list[str] = field(default_factory=list)  # "" = none, per frame row
    min_labels: int = 20


@dataclass
class TrainResult:
    artefact: dict[str, Any]
    metrics: dict[str, Any]
    learning_curve: list[dict[str, Any]]
    label_counts: dict[str, Any]
    untrained: dict[str, str]
    train_size: int


def _stance_matrix(featurizer: Featurizer, x_doc, texts: Sequence[str], rows: Sequence[int], names) -> sp.csr_matrix:
    mentions = [mention_text(texts[i], names) for i in rows]
    x_m = featurizer.transform(mentions) * MENTION_WEIGHT
    return sp.hstack([x_doc[list(rows)], x_m], format="csr")


def train(data: TrainingSet, *, evaluate: bool = True, featurizer: Featurizer | None = None) -> TrainResult:
    """Fit every classifier the labels allow; with `evaluate`, cross-validated metrics beside the
    majority baseline and a learning curve. Targets with too few labels or one class only are
    reported in `untrained` (and get no classifier)."""
    if featurizer is None:
        featurizer = Featurizer()
        x_doc = featurizer.fit_transform(data.texts)
    else:
        x_doc = featurizer.transform(data.texts)
    artefact: dict[str, Any] = {"format": ARTEFACT_FORMAT, "featurizer": featurizer, "targets": {},
                                "frames": None, "primary": None, "libraries": libraries()}
    metrics: dict[str, Any] = {"targets": {}, "frames": None}
    label_counts: dict[str, Any] = {"stance": {}, "frames": {}}
    untrained: dict[str, str] = {}
    curves: dict[str, list[tuple[int, float | None, float | None]]] = {}
    labelled_rows: set[int] = set()
    for target in data.targets:
        counts = Counter(target.labels)
        label_counts["stance"][target.key] = dict(counts)
        n = len(target.labels)
        if n < data.min_labels:
            untrained[target.key] = f"needs {data.min_labels - n} more labels for target {target.key}"
            continue
        if len(counts) < 2:
            untrained[target.key] = f"only one class ({next(iter(counts))}) among {n} labels for target {target.key}"
            continue
        labelled_rows.update(target.article_index)
        x = _stance_matrix(featurizer, x_doc, data.texts, target.article_index, target.names)
        y = np.array(target.labels, dtype=object)
        if evaluate:
            scores = metrics["targets"][target.key] = cross_validate_stance(x, y, data.stance_labels)
            key = "f_avg" if scores["f_avg"] is not None else "macro_f1"
            curves[target.key] = [*_curve(x, y, data.stance_labels), (n, scores[key], scores["baseline"][key])]
        artefact["targets"][target.key] = {"clf": _fit(x, y), "names": list(target.names)}
    if data.frame_rows:
        labelled_rows.update(data.frame_rows)
        frames_part = _train_frames(data, x_doc, evaluate=evaluate)
        label_counts["frames"] = frames_part["counts"]
        if frames_part["model"] is not None:
            artefact["frames"] = frames_part["model"]
            metrics["frames"] = frames_part["metrics"]
        else:
            untrained["frames"] = frames_part["why"]
        artefact["primary"] = frames_part["primary"]
    return TrainResult(artefact=artefact, metrics=_summary(metrics), learning_curve=_merge_curves(curves),
                       label_counts=label_counts, untrained=untrained, train_size=len(labelled_rows))


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    targets = metrics["targets"].values()
    f_avgs = [m["f_avg"] for m in targets if m["f_avg"] is not None]
    base_f = [m["baseline"]["f_avg"] for m in targets if m["baseline"]["f_avg"] is not None]
    metrics["f_avg"] = round(float(np.mean(f_avgs)), 4) if f_avgs else None
    metrics["macro_f1"] = round(float(np.mean([m["macro_f1"] for m in targets])), 4) if targets else None
    metrics["baseline_f_avg"] = round(float(np.mean(base_f)), 4) if base_f else None
    metrics["baseline_macro_f1"] = (round(float(np.mean([m["baseline"]["macro_f1"] for m in targets])), 4)
                                    if targets else None)
    return metrics


def _curve(x, y: np.ndarray, labels: Sequence[str]) -> list[tuple[int, float | None, float | None]]:
    """(labels, F_avg or macro-F1, baseline): the model trained on growing random subsets of the
    first CV fold's training part, scored on that fold's held-out part (one fit per point: the
    curve costs about one more cross-validation, not one per point)."""
    train, test = _folds(y, CV_FOLDS)[0]
    order = np.random.default_rng(SEED).permutation(train)
    points = []
    for size in curve_sizes(len(y)):
        rows = order[:size]
        if size > len(order) or len(set(y[rows].tolist())) < 2:
            continue
        clf = _fit(x[rows], y[rows])
        scores = stance_scores(y[test].tolist(), clf.predict(x[test]).tolist(), labels)
        majority = Counter(y[rows].tolist()).most_common(1)[0][0]
        base = stance_scores(y[test].tolist(), [majority] * len(test), labels)
        key = "f_avg" if scores["f_avg"] is not None else "macro_f1"
        points.append((size, scores[key], base[key]))
    return points


def _merge_curves(curves: dict[str, list[tuple[int, float | None, float | None]]]) -> list[dict[str, Any]]:
    """One point per (target, size): the dashboard draws one line per target and the baseline."""
    return [{"target": key, "labels": size, "score": score, "baseline": base}
            for key, points in curves.items() for size, score, base in points]


def _train_frames(data: TrainingSet, x_doc, *, evaluate: bool) -> dict[str, Any]:
    rows = data.frame_rows
    counts = Counter(f for fs in data.frame_labels for f in fs)
    out: dict[str, Any] = {"counts": dict(counts), "model": None, "metrics": None, "primary": None,
                           "why": ""}
    usable = [f for f in data.frames if counts.get(f, 0) >= 2 and counts[f] < len(rows)]
    if len(rows) < data.min_labels:
        out["why"] = f"needs {data.min_labels - len(rows)} more labelled articles for frames"
    elif not usable:
        out["why"] = "no frame has both positive and negative examples"
    else:
        x = x_doc[rows]
        y = np.array([[f in set(fs) for f in usable] for fs in data.frame_labels], dtype=bool)
        if evaluate:
            out["metrics"] = _cv_frames(x, y, usable)
        out["model"] = {"frames": usable, "clfs": [_fit(x, y[:, j].astype(int)) for j in range(len(usable))]}
    with_primary = [(r, p) for r, p in zip(rows, data.primary_labels, strict=True) if p]
    if len(with_primary) >= data.min_labels and len({p for _, p in with_primary}) >= 2:
        out["primary"] = _fit(x_doc[[r for r, _ in with_primary]], np.array([p for _, p in with_primary], dtype=object))
    return out


def _cv_frames(x, y: np.ndarray, frames: list[str]) -> dict[str, Any]:
    predicted = np.zeros_like(y)
    baseline = np.zeros_like(y)
    for train, test in KFold(n_splits=min(CURVE_FOLDS, len(y)), shuffle=True, random_state=SEED).split(x):
        for j in range(y.shape[1]):
            clf = _fit(x[train], y[train, j].astype(int))
            predicted[test, j] = clf.predict(x[test]).astype(bool)
            baseline[test, j] = y[train, j].mean() > 0.5  # the majority decision per frame
    def scores(pred):
        return {"micro_f1": round(float(f1_score(y, pred, average="micro", zero_division=0)), 4),
                "macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4)}
    return {**scores(predicted), "baseline": scores(baseline), "n": int(len(y)), "frames": frames}


# --- prediction ------------------------------------------------------------------------------


def predict(artefact: dict[str, Any], texts: Sequence[str]) -> list[dict[str, Any]]:
    """Per text: {"stance": {target: label}, "probabilities": {target: {label: p}}, "margin",
    "frames", "frame_probabilities", "primary_frame"}. `margin`: the smallest gap between the
    two most probable labels over the targets (None without a stance model)."""
    featurizer: Featurizer = artefact["featurizer"]
    x_doc = featurizer.transform(texts)
    out: list[dict[str, Any]] = [{"stance": {}, "probabilities": {}, "margin": None, "frames": [],
                                  "frame_probabilities": {}, "primary_frame": ""} for _ in texts]
    rows = list(range(len(texts)))
    for key, part in artefact["targets"].items():
        x = _stance_matrix(featurizer, x_doc, texts, rows, part["names"])
        classes, proba = _probabilities(part["clf"], x)
        best = proba.argmax(axis=1)
        top2 = np.sort(proba, axis=1)[:, -2:] if proba.shape[1] > 1 else np.hstack([np.zeros((len(rows), 1)), proba])
        gaps = top2[:, 1] - top2[:, 0]
        for i in rows:
            out[i]["stance"][key] = classes[best[i]]
            out[i]["probabilities"][key] = {c: round(float(p), 4) for c, p in zip(classes, proba[i], strict=True)}
            gap = round(float(gaps[i]), 4)
            out[i]["margin"] = gap if out[i]["margin"] is None else min(out[i]["margin"], gap)
    frames = artefact.get("frames")
    if frames:
        for frame, clf in zip(frames["frames"], frames["clfs"], strict=True):
            classes, proba = _probabilities(clf, x_doc)
            positive = classes.index("1") if "1" in classes else None
            for i in rows:
                p = float(proba[i, positive]) if positive is not None else float(classes[0] == "1")
                out[i]["frame_probabilities"][frame] = round(p, 4)
                if p >= 0.5:
                    out[i]["frames"].append(frame)
    primary = artefact.get("primary")
    if primary is not None:
        labels = primary.predict(x_doc)
        for i in rows:
            out[i]["primary_frame"] = str(labels[i])
    return out


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
