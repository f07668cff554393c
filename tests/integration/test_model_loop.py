"""Model in the loop on the real thing (PostgreSQL, Redis, a Celery worker consuming `train`):
labelled import over REST → training asked over REST runs on the worker → new imports get
predictions from the worker → the uncertainty queue hands out the least certain article first."""

from __future__ import annotations

import io
import json
import random

import pytest
from rest_framework.test import APIClient

from annotate.label_schema import default_label_schema
from annotate.models import ArticlePrediction, Membership, TrainedModel
from tests.benchmarks.make_stance_set import article, background_sentences
from tests.conftest import wait_for
from tests.factories import MembershipFactory, ProjectFactory, TargetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.slow]

TARGETS = ("nuclear-power", "carbon-tax", "remote-work")


def _upload(client, project, rows, name):
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    f = io.BytesIO(body)
    f.name = name
    response = client.post(f"/api/v1/projects/{project.pk}/articles/import/", {"file": f}, format="multipart")
    assert response.status_code in (200, 201), response.content[:500]
    return response.json()


def test_train_on_the_worker_then_the_uncertainty_queue_hands_out_the_least_certain_first(celery_worker):
    project = ProjectFactory(overlap=1, label_schema={**default_label_schema(), "frames_required": "none",
                                                      "primary_frame_required": False})
    for i, key in enumerate(TARGETS):
        TargetFactory(project=project, key=key, name=key.replace("-", " "), position=i)
    admin = MembershipFactory(project=project, role=Membership.Role.ADMIN, user=UserFactory()).user
    annotator = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR, user=UserFactory()).user
    client = APIClient()
    client.force_authenticate(admin)
    rng, background = random.Random(11), background_sentences()
    labelled = [article(rng, i, background) for i in range(60)]
    report = _upload(client, project, labelled, "labelled.jsonl")
    assert report["gold_imported"] >= 55
    # The labelled import alone reaches the threshold (20): the worker trains on its own.
    wait_for(lambda: TrainedModel.objects.filter(project=project, status="ready", is_active=True).exists(),
             timeout=240, interval=0.5)
    assert client.post(f"/api/v1/projects/{project.pk}/models/train/").status_code == 202
    wait_for(lambda: TrainedModel.objects.filter(project=project, version=2).exclude(status="training").exists(),
             timeout=240, interval=0.5)
    listed = client.get(f"/api/v1/projects/{project.pk}/models/").json()
    assert listed["active_version"] == 2 and listed["models"][0]["metrics"]["targets"]["carbon-tax"]["f_avg"] > 0
    log = celery_worker.log_path.read_text()
    assert "annotate.model_train" in log

    fresh = [{k: v for k, v in article(rng, 1000 + i, background).items() if k != "gold"} for i in range(8)]
    assert _upload(client, project, fresh, "fresh.jsonl")["created"] == 8
    wait_for(lambda: ArticlePrediction.objects.filter(article__project=project, article__gold__isnull=True).count() == 8,
             timeout=120, interval=0.5)
    margins = dict(ArticlePrediction.objects.filter(article__project=project).values_list("article_id", "margin"))
    assert len(margins) == 8  # the labelled articles have gold: the model is not asked about them
    assert client.patch(f"/api/v1/projects/{project.pk}/model-settings/", {"queue_order": "uncertainty"},
                        format="json").status_code == 200
    worker_client = APIClient()
    worker_client.force_authenticate(annotator)
    got = worker_client.post(f"/api/v1/projects/{project.pk}/tasks/next/")
    assert got.status_code in (200, 201), got.content[:300]
    least_certain = min(margins, key=lambda k: (margins[k], k))
    assert got.json()["article"]["id"] == least_certain
    suggestions = worker_client.get(f"/api/v1/assignments/{got.json()['id']}/stance-suggestions/").json()
    assert suggestions["shown"] and suggestions["model_version"] == 2
