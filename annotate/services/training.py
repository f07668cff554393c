"""Model in the loop: training the project's stance and frame models, versions, predictions, and
the suggestions an annotator is shown (annotate.ml does the learning; this module the bookkeeping).

Invariants:
- Labels: per article its gold (any method, imported too) wins; otherwise the majority of its
  submitted annotations (annotate.consensus), per target and for frames; a tie gives no label.
- A trained model is a row (TrainedModel) with its metrics and the sha256 of its artefact under
  settings.MODEL_ROOT. Every load checks the sha256: a missing or changed file marks the model
  `broken`, which stops its suggestions (annotation goes on untouched).
- A model trained on another codebook version than the project's is `stale`: no suggestions.
- Predictions (ArticlePrediction) always come from the active model; activating another version
  recomputes them. Annotators see them only on their own assignments, never pre-selected unless
  the project turns `prefill` on, and a deterministic share of assignments (`withhold_share`)
  never sees them; what was shown is recorded per assignment (SuggestionExposure).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from annotate import ml
from annotate.consensus import majority_frames, majority_label
from annotate.errors import Conflict, NotFound, ValidationFailed
from annotate.models import (
    Annotation,
    Article,
    ArticlePrediction,
    Assignment,
    Gold,
    ModelSettings,
    Project,
    SuggestionExposure,
    TrainedModel,
    text_hash,
)
from annotate.services.audit import audit_record

logger = logging.getLogger(__name__)

PREDICT_BATCH = 1000
SETTINGS_FIELDS = ("min_labels", "retrain_every", "suggestions_enabled", "prefill", "withhold_share")


# --- settings --------------------------------------------------------------------------------


def model_settings(project: Project) -> ModelSettings:
    """The project's settings row, or an unsaved one holding the defaults."""
    try:
        return ModelSettings.objects.get(project=project)
    except ModelSettings.DoesNotExist:
        return ModelSettings(project=project)


def _settings_state(project: Project, ms: ModelSettings) -> dict[str, Any]:
    return {**{f: getattr(ms, f) for f in SETTINGS_FIELDS}, "queue_order": project.queue_order_value,
            "queue_uncertainty_share": project.queue_uncertainty_share_value}


def model_settings_state(project: Project) -> dict[str, Any]:
    return _settings_state(project, model_settings(project))


def model_settings_update(*, project: Project, by, fields: dict[str, Any]) -> dict[str, Any]:
    """Change some settings (already type-checked by the caller); ranges checked here. Audited."""
    errors: dict[str, list[str]] = {}
    for name in ("withhold_share", "queue_uncertainty_share"):
        if name in fields and not 0.0 <= float(fields[name]) <= 1.0:
            errors[name] = ["must be between 0 and 1"]
    if "min_labels" in fields and fields["min_labels"] < 2:
        errors["min_labels"] = ["must be at least 2"]
    if "retrain_every" in fields and fields["retrain_every"] < 1:
        errors["retrain_every"] = ["must be at least 1"]
    if "queue_order" in fields and fields["queue_order"] not in Project.QUEUE_ORDERS:
        errors["queue_order"] = [f"must be one of {', '.join(Project.QUEUE_ORDERS)}"]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", details=errors)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        ms = model_settings(project)
        before = _settings_state(project, ms)
        for name in SETTINGS_FIELDS:
            if name in fields:
                setattr(ms, name, fields[name])
        ms.save()
        project_fields = [n for n in ("queue_order", "queue_uncertainty_share") if n in fields]
        for name in project_fields:
            setattr(project, name, fields[name])
        if project_fields:
            project.save(update_fields=[*project_fields, "updated_at"])
        after = _settings_state(project, ms)
        if after != before:
            audit_record(project=project, by=by, action="model.settings", obj=ms, object_type="model_settings",
                         object_id=project.pk, before=before, after=after)
    return after


# --- labels ----------------------------------------------------------------------------------


def project_labels(project: Project) -> dict[int, dict[str, Any]]:
    """{article id: {"stance": {target: label}, "frames": [...] | None, "primary_frame": str}}:
    gold where there is gold, else the annotators' majority (None frames = no decision)."""
    out: dict[int, dict[str, Any]] = {}
    for article_id, stance, frames, primary in Gold.objects.filter(article__project=project).values_list(
            "article_id", "stance", "frames", "primary_frame").iterator(chunk_size=2000):
        out[article_id] = {"stance": dict(stance or {}), "frames": list(frames or []), "primary_frame": primary or ""}
    by_article: dict[int, list[tuple[dict, list, str]]] = defaultdict(list)
    rows = Annotation.objects.filter(assignment__project=project, assignment__status=Assignment.Status.SUBMITTED
                                     ).exclude(assignment__article_id__in=list(out)).values_list(
        "assignment__article_id", "stance", "frames", "primary_frame")
    for article_id, stance, frames, primary in rows.iterator(chunk_size=2000):
        by_article[article_id].append((stance or {}, frames or [], primary or ""))
    for article_id, anns in by_article.items():
        keys = {k for stance, _, _ in anns for k in stance}
        stance = {k: label for k in keys if (label := majority_label(s.get(k) for s, _, _ in anns))}
        frames = majority_frames([f for _, f, _ in anns])
        primary = majority_label(p for _, _, p in anns) or ""
        out[article_id] = {"stance": stance, "frames": frames if any(f for _, f, _ in anns) else None,
                           "primary_frame": primary}
    return out


def label_status(project: Project) -> dict[str, Any]:
    """Labels per target against the threshold: what the dashboard shows before the first model."""
    ms = model_settings(project)
    counts: dict[str, int] = defaultdict(int)
    for labels in project_labels(project).values():
        for key in labels["stance"]:
            counts[key] += 1
    targets = []
    for target in project.targets.all():
        n = counts.get(target.key, 0)
        need = max(0, ms.min_labels - n)
        targets.append({"key": target.key, "labels": n, "needed": need,
                        "state": "ready" if need == 0 else f"needs {need} more labels for target {target.key}"})
    return {"min_labels": ms.min_labels, "targets": targets}


def _training_set(project: Project, ms: ModelSettings) -> tuple[ml.TrainingSet, list[int]]:
    labels = project_labels(project)
    targets = list(project.targets.all())
    articles = list(Article.objects.filter(project=project).order_by("pk").values_list("pk", "title", "text"))
    # Labelled articles first: the vectorizer sees every text, the classifiers the labelled rows.
    articles.sort(key=lambda a: a[0] not in labels)
    index = {pk: i for i, (pk, _, _) in enumerate(articles)}
    data = ml.TrainingSet(texts=[ml.article_text(t, x) for _, t, x in articles], stance_labels=project.stance_labels,
                          targets=[], frames=project.frames, min_labels=ms.min_labels)
    valid_stances = set(project.stance_labels)
    for target in targets:
        rows, ys = [], []
        for pk, lab in labels.items():
            label = lab["stance"].get(target.key)
            if label in valid_stances and pk in index:
                rows.append(index[pk])
                ys.append(label)
        data.targets.append(ml.TargetData(key=target.key, names=ml.mention_names(target.key, target.name,
                                                                                 target.aliases),
                                          article_index=rows, labels=ys))
    frames = set(project.frames)
    for pk, lab in labels.items():
        if lab["frames"] is None or pk not in index:
            continue
        data.frame_rows.append(index[pk])
        data.frame_labels.append([f for f in lab["frames"] if f in frames])
        data.primary_labels.append(lab["primary_frame"] if lab["primary_frame"] in frames else "")
    return data, [pk for pk, _, _ in articles]


# --- training --------------------------------------------------------------------------------


def _artefact_path(project: Project, version: int) -> Path:
    return Path(settings.MODEL_ROOT) / f"project-{project.pk}" / f"model-v{version}.joblib"


def _new_version(project: Project, *, by, trigger: str) -> TrainedModel:
    for _ in range(5):
        try:
            with transaction.atomic():
                top = TrainedModel.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
                return TrainedModel.objects.create(
                    project=project, version=top + 1, trigger=trigger, algorithm=ml.algorithm_name(),
                    libraries=ml.libraries(), codebook_version=int(project.label_schema.get("version", 1)),
                    requested_by=by if getattr(by, "is_authenticated", False) else None)
        except IntegrityError:  # a concurrent training took the number
            continue
    raise Conflict("could not allocate a model version; try again")


def model_train(*, project: Project, by=None, trigger: str = "manual", activate: bool = True) -> TrainedModel:
    """Train a new version from the project's labels now (the worker's task calls this). A target
    below `min_labels` or with one class only is left out and said so in `untrained`; with no
    target trainable the row is `failed` with the reason (no crash, nothing else changes).
    A ready model becomes active when `activate` (the loop's default) and its predictions are
    computed for every article without gold."""
    project = Project.objects.get(pk=project.pk)
    ms = model_settings(project)
    submitted = Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED).count()
    row = _new_version(project, by=by, trigger=trigger)
    started = time.monotonic()
    try:
        data, _ = _training_set(project, ms)
        result = ml.train(data)
    except Exception as exc:  # recorded on the row: the dashboard shows why
        logger.exception("training project %s failed", project.slug)
        row.status, row.error, row.finished_at = TrainedModel.Status.FAILED, f"{type(exc).__name__}: {exc}", timezone.now()
        row.save()
        return row
    row.train_seconds = round(time.monotonic() - started, 2)
    row.train_size, row.label_counts, row.metrics = result.train_size, result.label_counts, result.metrics
    row.learning_curve, row.untrained = result.learning_curve, result.untrained
    row.finished_at = timezone.now()
    if not result.artefact["targets"] and result.artefact["frames"] is None:
        row.status = TrainedModel.Status.FAILED
        row.error = "; ".join(result.untrained.values()) or "no labels yet"
        row.save()
        _remember_submissions(project, submitted)
        return row
    path = _artefact_path(project, row.version)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(result.artefact, tmp, compress=3)
    os.replace(tmp, path)
    row.artefact_path, row.sha256, row.size_bytes = str(path), ml.sha256_of(path), path.stat().st_size
    # Ready and active in one commit: nobody reads version N ready while N-1 still serves.
    with transaction.atomic():
        row.status = TrainedModel.Status.READY
        row.save()
        if activate:
            try:  # its own savepoint: a model that cannot serve stays ready, the one before stays active
                _switch_active(project=project, version=row.version, by=by, audit=False)
                row.is_active = True
            except Conflict as exc:
                logger.warning("trained %s for %s but did not activate it: %s", row, project.slug, exc)
                activate = False
    _remember_submissions(project, submitted)
    if activate:
        predictions_compute(project=project)
    logger.info("trained %s for %s in %.1f s: %s", row, project.slug, row.train_seconds, result.metrics.get("f_avg"))
    return row


def _remember_submissions(project: Project, submitted: int) -> None:
    ms = model_settings(project)
    ms.submissions_at_last_train = submitted
    ms.save()


def model_train_request(*, project: Project, by, trigger: str = "manual") -> bool:
    """Queue a training run on the `train` queue (after commit); False if the broker refused it."""
    from annotate.celery import enqueue
    from annotate.tasks.models import model_train_task

    audit_record(project=project, by=by, action="model.train", object_type="project", object_id=project.pk,
                 after={"trigger": trigger})
    queued = {"ok": True}
    transaction.on_commit(lambda: queued.update(ok=enqueue(model_train_task, project.pk, trigger,
                                                           getattr(by, "pk", None))))
    return queued["ok"]


def model_maybe_train(*, project: Project) -> TrainedModel | None:
    """After submissions or a labelled import: train when no model exists yet and a target has
    reached `min_labels`, or when `retrain_every` submissions came in since the last training."""
    ms = model_settings(project)
    submitted = Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED).count()
    has_model = TrainedModel.objects.filter(project=project).exists()
    if has_model:
        if submitted - ms.submissions_at_last_train < ms.retrain_every:
            return None
        return model_train(project=project, trigger="submissions")
    status = label_status(project)
    if any(t["needed"] == 0 for t in status["targets"]):
        return model_train(project=project, trigger="threshold")
    return None


def model_after_submit(project_id: int) -> None:
    """Queue the (cheap) check of `model_maybe_train` on the train queue; called after commit."""
    from annotate.celery import enqueue
    from annotate.tasks.models import model_maybe_train_task

    enqueue(model_maybe_train_task, project_id)


# --- versions, artefacts ---------------------------------------------------------------------


def is_stale(model: TrainedModel, project: Project) -> bool:
    return model.codebook_version != int(project.label_schema.get("version", 1))


_verified: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, sha256) this process checked
_verified_lock = threading.Lock()


def artefact_ok(model: TrainedModel) -> bool:
    """Whether the artefact file is there with the recorded sha256. Hashes only when the file's
    mtime or size changed since this process last checked; a failure marks the model broken."""
    if model.status == TrainedModel.Status.BROKEN:
        return False
    try:
        st = os.stat(model.artefact_path)
        key = (st.st_mtime_ns, st.st_size)
        with _verified_lock:
            seen = _verified.get(model.artefact_path)
        if seen is not None and seen[:2] == key and seen[2] == model.sha256:
            return True
        digest = ml.sha256_of(model.artefact_path)
    except OSError as exc:
        _mark_broken(model, f"artefact unreadable: {exc}")
        return False
    if digest != model.sha256:
        _mark_broken(model, f"artefact sha256 {digest[:12]}… is not the recorded {model.sha256[:12]}…")
        return False
    with _verified_lock:
        _verified[model.artefact_path] = (*key, digest)
    return True


def _mark_broken(model: TrainedModel, why: str) -> None:
    logger.error("model %s is broken: %s", model, why)
    TrainedModel.objects.filter(pk=model.pk).update(status=TrainedModel.Status.BROKEN, error=why)
    model.status, model.error = TrainedModel.Status.BROKEN, why


def model_load(model: TrainedModel) -> dict[str, Any] | None:
    """The artefact, or None (and the model marked broken) when the file is missing or changed."""
    if not model.artefact_path or not artefact_ok(model):
        return None
    try:
        # The file's sha256 was just checked against the row: only our own dumps are unpickled.
        return joblib.load(model.artefact_path)
    except Exception as exc:  # a file that hashes right but does not load: broken all the same
        _mark_broken(model, f"artefact does not load: {type(exc).__name__}: {exc}")
        return None


def active_model(project: Project | int) -> TrainedModel | None:
    project_id = getattr(project, "pk", project)
    return TrainedModel.objects.filter(project_id=project_id, is_active=True).first()


def _switch_active(*, project: Project, version: int, by, audit: bool) -> TrainedModel:
    """`version` becomes the one active model (ready and loadable), in one transaction."""
    with transaction.atomic():
        model = TrainedModel.objects.select_for_update().filter(project=project, version=version).first()
        if model is None:
            raise NotFound(f"model version {version} does not exist")
        if model.status != TrainedModel.Status.READY or not artefact_ok(model):
            raise Conflict(f"model version {version} is {model.status}: it cannot be made active")
        previous = active_model(project)
        TrainedModel.objects.filter(project=project, is_active=True).update(is_active=False)
        TrainedModel.objects.filter(pk=model.pk).update(is_active=True)
        model.is_active = True
        if audit:
            audit_record(project=project, by=by, action="model.activate", obj=model, object_type="trained_model",
                         before={"active": previous.version if previous else None}, after={"active": version})
    return model


def model_activate(*, project: Project, version: int, by, audit: bool = True, predict_now: bool = False) -> TrainedModel:
    """Make `version` the active model (ready and loadable), then recompute the predictions: here
    with `predict_now` (the worker, after training), else on the worker's `train` queue after
    commit (a request never waits for ten thousand predictions)."""
    model = _switch_active(project=project, version=version, by=by, audit=audit)
    if predict_now:
        predictions_compute(project=project)
    else:
        from annotate.celery import enqueue
        from annotate.tasks.models import model_predict_task

        transaction.on_commit(lambda: enqueue(model_predict_task, project.pk))
    return model


# --- predictions -----------------------------------------------------------------------------


def predictions_compute(*, project: Project, article_ids: list[int] | None = None) -> int:
    """Store the active model's predictions for the project's articles without gold (or for
    `article_ids`); predictions of another model are replaced. Returns how many were stored."""
    model = active_model(project)
    if model is None:
        return 0
    artefact = model_load(model)
    if artefact is None:
        return 0
    qs = Article.objects.filter(project=project, gold__isnull=True)
    if article_ids is not None:
        qs = qs.filter(pk__in=article_ids)
    else:
        ArticlePrediction.objects.filter(article__project=project).exclude(model=model).delete()
        Article.objects.filter(project=project, queue_margin__isnull=False, prediction__isnull=True).update(
            queue_margin=None)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), PREDICT_BATCH):
        rows = list(Article.objects.filter(pk__in=ids[start:start + PREDICT_BATCH]).values_list("pk", "title", "text"))
        results = ml.predict(artefact, [ml.article_text(t, x) for _, t, x in rows])
        objs = [ArticlePrediction(article_id=pk, model=model, stance=r["stance"], probabilities=r["probabilities"],
                                  frames=r["frames"], frame_probabilities=r["frame_probabilities"],
                                  primary_frame=r["primary_frame"], margin=r["margin"], text_hash=text_hash(x),
                                  computed_at=timezone.now())
                for (pk, _, x), r in zip(rows, results, strict=True)]
        with transaction.atomic():
            ArticlePrediction.objects.filter(article_id__in=[o.article_id for o in objs]).delete()
            ArticlePrediction.objects.bulk_create(objs, batch_size=500)
            queue_margins_copy([o.article_id for o in objs])
        done += len(objs)
    return done


def queue_margins_copy(article_ids: list[int]) -> None:
    """Article.queue_margin := its prediction's margin (the uncertainty queue's index reads it)."""
    margin = ArticlePrediction.objects.filter(article_id=OuterRef("pk")).values("margin")[:1]
    Article.objects.filter(pk__in=article_ids).update(queue_margin=Subquery(margin))


def predictions_queue(*, project: Project, article_ids: list[int]) -> None:
    """After an import: predict the new articles in the worker if the project has an active model."""
    if not article_ids or not TrainedModel.objects.filter(project=project, is_active=True).exists():
        return
    from annotate.celery import enqueue
    from annotate.tasks.models import model_predict_task

    enqueue(model_predict_task, project.pk, list(article_ids))


# --- what an annotator sees ------------------------------------------------------------------


def withheld(project_id: int, assignment_id: int, share: float) -> bool:
    """Deterministic per assignment: the same assignment is always in or out of the share."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"withhold:{project_id}:{assignment_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def stance_suggestions(*, assignment: Assignment) -> dict[str, Any]:
    """The suggestions for one assignment (the caller checked it is the annotator's own), and
    the record of what was shown (first call only: a reload shows the same)."""
    project = assignment.project
    ms = model_settings(project)
    model = active_model(project)
    out: dict[str, Any] = {"shown": False, "reason": "", "prefill": ms.prefill, "model_version": None,
                           "stance": {}, "frames": [], "primary_frame": ""}
    if not ms.suggestions_enabled:
        out["reason"] = "off"
    elif withheld(project.pk, assignment.pk, ms.withhold_share):
        out["reason"] = "withheld"
    elif model is None:
        out["reason"] = "no_model"
    elif is_stale(model, project):
        out["reason"] = "stale"
    elif not artefact_ok(model):
        out["reason"] = "broken"
    else:
        prediction = ArticlePrediction.objects.filter(article_id=assignment.article_id, model=model).first()
        if prediction is None:
            out["reason"] = "no_prediction"
        else:
            targets = set(project.targets.values_list("key", flat=True))
            labels = set(project.stance_labels)
            for key, label in prediction.stance.items():
                if key in targets and label in labels:  # a target added after training: none for it
                    probs = prediction.probabilities.get(key, {})
                    out["stance"][key] = {"label": label, "confidence": probs.get(label), "probabilities": probs}
            frames = set(project.frames)
            out["frames"] = [{"frame": f, "confidence": prediction.frame_probabilities.get(f)}
                             for f in prediction.frames if f in frames]
            if prediction.primary_frame in frames:
                out["primary_frame"] = prediction.primary_frame
            out["shown"], out["model_version"] = bool(out["stance"] or out["frames"]), model.version
            if not out["shown"]:
                out["reason"] = "no_prediction"
    if assignment.status in (Assignment.Status.ASSIGNED, Assignment.Status.IN_PROGRESS):
        try:
            with transaction.atomic():
                SuggestionExposure.objects.get_or_create(
                    assignment=assignment, defaults={"shown": out["shown"], "reason": out["reason"],
                                                     "model": model if out["shown"] else None,
                                                     "model_version": out["model_version"]})
        except IntegrityError:  # a second tab asked at the same moment: the first record stands
            pass
    return out


def model_list(project: Project) -> list[TrainedModel]:
    models = list(TrainedModel.objects.filter(project=project).order_by("-version"))
    for m in models:
        m.stale = is_stale(m, project)
    return models
