"""Model in the loop (issue 16): labelled import, training and its bad inputs, versions,
suggestions and what they record, the uncertainty queue order, exports' prediction layer."""

from __future__ import annotations

import io
import json
import random

import pytest

from annotate.errors import Conflict, ImportRejected
from annotate.models import (
    Article,
    ArticlePrediction,
    AuditEvent,
    Gold,
    Membership,
    SuggestionExposure,
    Target,
    TrainedModel,
    text_hash,
)
from annotate.services import training
from annotate.services.annotations import annotation_submit, annotation_update
from annotate.services.codebook import codebook_change
from annotate.services.imports import articles_import
from annotate.services.queue import assignment_next
from tests.benchmarks.make_stance_set import article, background_sentences
from tests.factories import GoldFactory, MembershipFactory, ProjectFactory, TargetFactory, UserFactory

pytestmark = pytest.mark.django_db

TARGETS = ("nuclear-power", "carbon-tax", "remote-work")


def labelled_lines(n: int, seed: int = 3, *, gold: bool = True) -> list[dict]:
    rng, background = random.Random(seed), background_sentences()
    rows = []
    for i in range(n):
        row = article(rng, seed * 10_000 + i, background)
        if not gold:
            row.pop("gold")
        rows.append(row)
    return rows


def jsonl(rows) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


@pytest.fixture
def project():
    p = ProjectFactory(label_schema={**ProjectFactory._meta.model._meta.get_field("label_schema").default(),
                                     "frames_required": "none", "primary_frame_required": False})
    for i, key in enumerate(TARGETS):
        TargetFactory(project=p, key=key, name=key.replace("-", " "), position=i)
    return p


def trained(project, n: int = 70) -> TrainedModel:
    articles_import(project=project, source=jsonl(labelled_lines(n)), filename="train.jsonl",
                    queue_preannotation=False, queue_model=False)
    return training.model_train(project=project)


def test_labelled_import_stores_gold_with_method_imported_and_audits_it(project):
    rows = labelled_lines(5)
    report = articles_import(project=project, source=jsonl(rows), filename="a.jsonl", queue_preannotation=False)
    golds = {g.article.external_id: g for g in Gold.objects.filter(article__project=project)}
    with_gold = [r for r in rows if r["gold"]["stance"] or r["gold"].get("frames")]
    assert report.gold_imported == len(with_gold) == len(golds)
    for r in with_gold:
        assert golds[r["id"]].method == Gold.Method.IMPORTED
        assert golds[r["id"]].stance == r["gold"]["stance"]
    assert AuditEvent.objects.filter(project=project, action="gold.import").count() == len(with_gold)


def test_labelled_import_refuses_gold_outside_the_codebook_naming_line_and_field(project):
    rows = labelled_lines(3)
    rows[1]["gold"] = {"stance": {"nuclear-power": "MAYBE", "no-such-target": "FAVOR"}, "frames": ["Nope"]}
    with pytest.raises(ImportRejected) as caught:
        articles_import(project=project, source=jsonl(rows), filename="bad.jsonl", queue_preannotation=False)
    errors = {(e["line"], e["field"]) for e in caught.value.details["errors"]}
    assert {(2, "gold.stance.nuclear-power"), (2, "gold.stance.no-such-target"), (2, "gold.frames[0]")} <= errors
    assert not Gold.objects.filter(article__project=project).exists()


def test_too_few_labels_is_a_clear_state_not_a_crash(project):
    articles_import(project=project, source=jsonl(labelled_lines(8)), filename="few.jsonl",
                    queue_preannotation=False, queue_model=False)
    status = training.label_status(project)
    first = status["targets"][0]
    assert first["needed"] > 0 and first["state"] == f"needs {first['needed']} more labels for target {first['key']}"
    row = training.model_train(project=project)
    assert row.status == TrainedModel.Status.FAILED
    assert "more labels for target nuclear-power" in row.untrained["nuclear-power"]
    assert not TrainedModel.objects.filter(project=project, is_active=True).exists()


def test_one_class_only_leaves_the_target_untrained(project):
    rows = labelled_lines(40)
    for r in rows:
        r["gold"]["stance"]["remote-work"] = "FAVOR"
    articles_import(project=project, source=jsonl(rows), filename="one.jsonl", queue_preannotation=False,
                    queue_model=False)
    row = training.model_train(project=project)
    assert row.status == TrainedModel.Status.READY
    assert row.untrained["remote-work"].startswith("only one class (FAVOR)")
    assert "remote-work" not in row.metrics["targets"] and "carbon-tax" in row.metrics["targets"]


def test_training_records_metrics_baseline_curve_and_artefact_and_predicts(project, django_capture_on_commit_callbacks):
    row = trained(project)
    assert row.status == TrainedModel.Status.READY and row.is_active
    m = row.metrics["targets"]["carbon-tax"]
    assert set(m) >= {"macro_f1", "f_avg", "f1", "baseline", "n"}
    assert m["baseline"]["f_avg"] is not None
    curve = [p for p in row.learning_curve if p["target"] == "carbon-tax"]
    assert [p["labels"] for p in curve] == [20, 40, m["n"]] and curve[-1]["score"] == m["f_avg"]
    assert row.metrics["frames"]["micro_f1"] is not None
    assert row.sha256 and row.libraries["scikit-learn"] and row.codebook_version == 1
    # Unlabelled articles (here: new imports) get predictions from the active model.
    with django_capture_on_commit_callbacks(execute=True):  # the worker's task, in-process
        report = articles_import(project=project, source=jsonl(labelled_lines(4, seed=9, gold=False)),
                                 filename="new.jsonl", queue_preannotation=False)
    predictions = ArticlePrediction.objects.filter(article_id__in=report.article_ids)
    assert predictions.count() == 4
    p = predictions.first()
    assert set(p.stance) == set(TARGETS) and p.model_id == row.pk
    probs = p.probabilities["carbon-tax"]
    assert abs(sum(probs.values()) - 1) < 0.01 and p.margin is not None


def _assignment(project, user=None):
    user = user or MembershipFactory(project=project, role=Membership.Role.ANNOTATOR, user=UserFactory()).user
    return assignment_next(project=project, user=user), user


def test_suggestions_shown_on_own_assignment_and_recorded(project):
    row = trained(project)
    articles_import(project=project, source=jsonl(labelled_lines(3, seed=9, gold=False)), filename="u.jsonl",
                    queue_preannotation=False)
    # Articles with gold need no labels from the model: give the annotator an unlabelled one.
    Gold.objects.filter(article__project=project).delete()
    training.predictions_compute(project=project)
    assignment, user = _assignment(project)
    got = training.stance_suggestions(assignment=assignment)
    assert got["shown"] and got["model_version"] == row.version and got["prefill"] is False
    s = got["stance"]["carbon-tax"]
    assert s["label"] in project.stance_labels and 0 < s["confidence"] <= 1
    exposure = SuggestionExposure.objects.get(assignment=assignment)
    assert exposure.shown and exposure.model_version == row.version
    # Frames too: the prediction's frames that the codebook has, and its primary frame.
    prediction = ArticlePrediction.objects.get(article_id=assignment.article_id)
    first, second = project.frames[:2]
    ArticlePrediction.objects.filter(pk=prediction.pk).update(
        frames=[first, "dropped-from-codebook", second], primary_frame=second,
        frame_probabilities={first: 0.9, "dropped-from-codebook": 0.8, second: 0.6})
    got = training.stance_suggestions(assignment=assignment)
    assert got["frames"] == [{"frame": first, "confidence": 0.9}, {"frame": second, "confidence": 0.6}]
    assert got["primary_frame"] == second
    ArticlePrediction.objects.filter(pk=prediction.pk).update(primary_frame="dropped-from-codebook")
    assert training.stance_suggestions(assignment=assignment)["primary_frame"] == ""


def test_a_reimported_new_text_drops_the_old_prediction_until_the_worker_predicts_again(project):
    trained(project)
    rows = labelled_lines(2, seed=9, gold=False)
    articles_import(project=project, source=jsonl(rows), filename="u.jsonl", queue_preannotation=False,
                    queue_model=False)
    training.predictions_compute(project=project)
    article = Article.objects.get(project=project, external_id=rows[0]["id"])
    old = ArticlePrediction.objects.get(article=article)
    assert article.queue_margin == old.margin
    rows[0]["text"] = "A different text now: " + rows[0]["text"]
    articles_import(project=project, source=jsonl(rows[:1]), filename="u2.jsonl", queue_preannotation=False,
                    queue_model=False)
    assert not ArticlePrediction.objects.filter(article=article).exists()
    article.refresh_from_db()
    assert article.queue_margin is None
    training.predictions_compute(project=project, article_ids=[article.pk])  # what the worker runs next
    new = ArticlePrediction.objects.get(article=article)
    article.refresh_from_db()
    assert new.text_hash == text_hash(article.text) != old.text_hash and article.queue_margin == new.margin


def test_switch_off_withhold_share_new_target_stale_and_broken(project, tmp_path):
    row = trained(project)
    Gold.objects.filter(article__project=project).delete()
    training.predictions_compute(project=project)
    a1, _ = _assignment(project)
    # A target added after training gets no suggestion until the next training.
    Target.objects.create(project=project, key="late-target", name="late target", position=9)
    assert "late-target" not in training.stance_suggestions(assignment=a1)["stance"]

    training.model_settings_update(project=project, by=None, fields={"suggestions_enabled": False})
    a2, _ = _assignment(project)
    assert training.stance_suggestions(assignment=a2)["reason"] == "off"
    assert SuggestionExposure.objects.get(assignment=a2).shown is False

    training.model_settings_update(project=project, by=None, fields={"suggestions_enabled": True,
                                                                      "withhold_share": 1.0})
    a3, _ = _assignment(project)
    assert training.stance_suggestions(assignment=a3)["reason"] == "withheld"
    assert [training.withheld(project.pk, i, 0.3) for i in range(200)].count(True) in range(35, 85)
    assert training.withheld(project.pk, 17, 0.3) == training.withheld(project.pk, 17, 0.3)
    training.model_settings_update(project=project, by=None, fields={"withhold_share": 0.0})

    # The artefact changes on disk: the model is broken, suggestions stop, annotation goes on.
    with open(row.artefact_path, "r+b") as fh:
        fh.seek(100)
        fh.write(b"corrupt!")
    a4, user4 = _assignment(project)
    assert training.stance_suggestions(assignment=a4)["reason"] == "broken"
    row.refresh_from_db()
    assert row.status == TrainedModel.Status.BROKEN
    with pytest.raises(Conflict):
        training.model_activate(project=project, version=row.version, by=None)
    ann = annotation_update(assignment=a4.pk, by=user4, version=1, fields={"stance": {"carbon-tax": "FAVOR"}},
                            replace=False)
    assert ann.version == 2


def test_codebook_version_change_makes_the_model_stale(project):
    trained(project)
    Gold.objects.filter(article__project=project).delete()
    training.predictions_compute(project=project)
    schema = {**project.label_schema, "stance_labels": [*project.stance_labels, "MIXED"]}
    codebook_change(project=project, schema=schema, mappings={}, by=None)
    project.refresh_from_db()
    model = training.active_model(project)
    assert training.is_stale(model, project)
    a, _ = _assignment(project)
    assert training.stance_suggestions(assignment=a)["reason"] == "stale"


def test_retrain_after_every_n_submissions(project, django_capture_on_commit_callbacks):
    trained(project, n=60)
    training.model_settings_update(project=project, by=None, fields={"retrain_every": 2})
    project.overlap = 1
    project.save()
    user = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR, user=UserFactory()).user
    for _ in range(2):
        a = assignment_next(project=project, user=user)
        ann = annotation_update(assignment=a.pk, by=user, version=1, replace=False,
                                fields={"stance": dict.fromkeys(TARGETS, "FAVOR")})
        with django_capture_on_commit_callbacks(execute=True):
            annotation_submit(assignment=a.pk, by=user, version=ann.version)
    assert TrainedModel.objects.filter(project=project).count() == 2
    assert TrainedModel.objects.get(project=project, is_active=True).trigger == "submissions"


def test_uncertainty_queue_hands_out_the_least_certain_article_first(project, django_capture_on_commit_callbacks):
    trained(project, n=40)
    with django_capture_on_commit_callbacks(execute=True):
        report = articles_import(project=project, source=jsonl(labelled_lines(6, seed=5, gold=False)),
                                 filename="q.jsonl", queue_preannotation=False)
    margins = dict(ArticlePrediction.objects.filter(article_id__in=report.article_ids)
                   .values_list("article_id", "margin"))
    assert len(margins) == 6  # the labelled articles have gold: no prediction, so they come last
    first_imported = min(a.pk for a in project.articles.all())
    user = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR, user=UserFactory()).user
    assert assignment_next(project=project, user=user).article_id == first_imported  # import order (default)
    training.model_settings_update(project=project, by=None, fields={"queue_order": "uncertainty"})
    project.refresh_from_db()
    other = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR, user=UserFactory()).user
    assert assignment_next(project=project, user=other).article_id == min(margins, key=lambda k: (margins[k], k))
    # The queue reads the article's copy of the margin, which follows every prediction run…
    assert dict(Article.objects.filter(pk__in=margins).values_list("pk", "queue_margin")) == margins
    least = min(margins, key=lambda k: (margins[k], k))
    ArticlePrediction.objects.filter(article_id=least).update(margin=0.99)
    training.predictions_compute(project=project, article_ids=[least])
    assert Article.objects.get(pk=least).queue_margin == ArticlePrediction.objects.get(article_id=least).margin
    # …and goes with the prediction: a new model's full run drops the old model's predictions, and
    # an article that has gold meanwhile gets none, so it has no margin and goes last.
    GoldFactory(article_id=least)
    newer = training.model_train(project=project)
    assert newer.is_active
    training.predictions_compute(project=project)
    assert not ArticlePrediction.objects.filter(article_id=least).exists()
    assert Article.objects.get(pk=least).queue_margin is None
    assert dict(Article.objects.filter(pk__in=set(margins) - {least}).values_list("pk", "queue_margin")) == dict(
        ArticlePrediction.objects.filter(article_id__in=set(margins) - {least}).values_list("article_id", "margin"))


def test_exports_keep_predictions_in_their_own_layer_and_say_whether_suggestions_were_shown(project):
    from annotate.exports.jsonl import row_to_dict
    from annotate.exports.options import export_options_validate
    from annotate.exports.rows import iter_rows

    row = trained(project, n=40)
    Gold.objects.filter(article__project=project).delete()
    training.predictions_compute(project=project)
    a, user = _assignment(project)
    assert training.stance_suggestions(assignment=a)["shown"]
    ann = annotation_update(assignment=a.pk, by=user, version=1, replace=False,
                            fields={"stance": dict.fromkeys(TARGETS, "AGAINST")})
    annotation_submit(assignment=a.pk, by=user, version=ann.version)
    asked = export_options_validate({"include_predictions": True}, target_keys=list(TARGETS))
    out = {r.article_id: row_to_dict(r, with_split=False) for r in iter_rows(project=project, options=asked)}
    line = out[a.article_id]
    assert line["annotations"][0]["suggestions_shown"] is True
    assert line["annotations"][0]["suggestion_model_version"] == row.version
    assert line["predictions"]["model_version"] == row.version and set(line["predictions"]["stance"]) == set(TARGETS)
    assert line["annotations"][0]["stance"] == dict.fromkeys(TARGETS, "AGAINST")  # people's labels, untouched
    plain = export_options_validate({}, target_keys=list(TARGETS))
    assert all("predictions" not in row_to_dict(r, with_split=False) for r in iter_rows(project=project, options=plain))


def test_a_model_that_cannot_be_made_active_stays_ready_and_the_active_one_keeps_serving(project, monkeypatch):
    first = trained(project)
    assert first.is_active
    # The new model's artefact fails the check the activation makes (a disk error between write and read).
    monkeypatch.setattr(training, "artefact_ok", lambda model: model.version != first.version + 1)
    second = training.model_train(project=project)
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == TrainedModel.Status.READY and not second.is_active
    assert first.is_active and training.active_model(project).version == first.version
