"""Every endpoint of issue 4 × every kind of caller, with the exact status code (G4).

Callers: anonymous; `outsider` (admin of another project) and `staff` (staff user, member of
nothing): both must get 404 for anything inside the project, so they cannot tell it exists;
each project role; `annotator` owns the assignment under test, `annotator2` is another annotator
of the same project (blind annotation: 404 on the first one's work); `superuser` = admin everywhere.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from annotate.models import Annotation, Assignment, Membership
from annotate.services.annotations import annotation_update
from annotate.services.gold import gold_edit
from annotate.services.queue import assignment_next
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "outsider", "staff", "admin", "reviewer", "annotator", "annotator2", "exporter", "superuser")
MEMBERS = ("admin", "reviewer", "annotator", "annotator2", "exporter", "superuser")


def expect(ok: int, *, allowed=MEMBERS, denied: int = 403, hidden=("outsider", "staff"), overrides=None) -> dict:
    """Status per caller: `ok` for `allowed`, 404 for `hidden`, 401 anonymous, `denied` for the rest."""
    table = {"anonymous": 401}
    for caller in CALLERS[1:]:
        table[caller] = ok if caller in allowed else 404 if caller in hidden else denied
    table.update(overrides or {})
    return table


ADMIN = ("admin", "superuser")
READERS = ("admin", "reviewer", "exporter", "superuser")
WORKERS = ("admin", "reviewer", "annotator", "annotator2", "superuser")
# The owner's assignment: owner and reviewers/admins see it; everyone else gets 404.
OWNER_SEES = ("annotator", "admin", "reviewer", "superuser")
NOT_VISIBLE = ("outsider", "staff", "annotator2", "exporter")


def own_read(ok=200):
    return expect(ok, allowed=OWNER_SEES, hidden=NOT_VISIBLE)


def own_write(ok=200):
    # Reviewers/admins can see it, but only its annotator may change the annotation: 403.
    return expect(ok, allowed=("annotator",), hidden=NOT_VISIBLE)


REVIEWERS = ("admin", "reviewer", "superuser")


def ADJ(w):
    return f"/api/v1/projects/{w.project.pk}/adjudication/"


def V(w):  # the owner's annotation version
    return Annotation.objects.get(assignment=w.assignment).version


ENDPOINTS = [
    # name, method, url(w), body(w) or None, expectations
    ("me", "get", lambda w: "/api/v1/me/", None,
     expect(200, allowed=CALLERS[1:])),
    ("my tokens", "get", lambda w: "/api/v1/me/tokens/", None, expect(200, allowed=CALLERS[1:])),
    ("token create", "post", lambda w: "/api/v1/me/tokens/", lambda w: {"name": "script"},
     expect(201, allowed=CALLERS[1:])),
    ("user invite", "post", lambda w: f"/api/v1/projects/{w.project.pk}/invitations/",
     lambda w: {"username": "invited-one", "role": "annotator"}, expect(201, allowed=("admin", "reviewer", "superuser"))),
    ("project list", "get", lambda w: "/api/v1/projects/", None, expect(200, allowed=CALLERS[1:])),
    ("project create", "post", lambda w: "/api/v1/projects/", lambda w: {"name": "New", "slug": "new-one"},
     expect(201, allowed=("staff", "superuser"), hidden=())),
    ("project detail", "get", lambda w: f"/api/v1/projects/{w.project.pk}/", None, expect(200)),
    ("project patch", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/", lambda w: {"description": "d"},
     expect(200, allowed=ADMIN)),
    ("project put", "put", lambda w: f"/api/v1/projects/{w.project.pk}/",
     lambda w: {"name": "Renamed", "slug": w.project.slug, "label_schema": {}}, expect(200, allowed=ADMIN)),
    ("codebook preview", "post", lambda w: f"/api/v1/projects/{w.project.pk}/codebook/preview/",
     lambda w: {"label_schema": {"stance_labels": ["FAVOR", "AGAINST"]}}, expect(200, allowed=ADMIN)),
    ("audit list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/audit/", None,
     expect(200, allowed=("admin", "reviewer", "superuser"))),
    ("project delete", "delete", lambda w: f"/api/v1/projects/{w.project.pk}/", None, expect(204, allowed=ADMIN)),
    ("target list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/targets/", None, expect(200)),
    ("target create", "post", lambda w: f"/api/v1/projects/{w.project.pk}/targets/",
     lambda w: {"key": "nato", "name": "NATO"}, expect(201, allowed=ADMIN)),
    ("target detail", "get", lambda w: f"/api/v1/projects/{w.project.pk}/targets/{w.targets[0].pk}/", None,
     expect(200)),
    ("target patch", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/targets/{w.targets[0].pk}/",
     lambda w: {"name": "Troops"}, expect(200, allowed=ADMIN)),
    ("target delete", "delete", lambda w: f"/api/v1/projects/{w.project.pk}/targets/{w.targets[0].pk}/", None,
     expect(204, allowed=ADMIN)),
    ("member list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/members/", None,
     expect(200, allowed=("admin", "reviewer", "superuser"))),
    ("member add", "post", lambda w: f"/api/v1/projects/{w.project.pk}/members/",
     lambda w: {"user": "staff-user", "role": "annotator"}, expect(201, allowed=ADMIN)),
    ("member patch", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/members/{w.membership2.pk}/",
     lambda w: {"role": "reviewer"}, expect(200, allowed=ADMIN)),
    ("member delete", "delete", lambda w: f"/api/v1/projects/{w.project.pk}/members/{w.membership2.pk}/", None,
     expect(204, allowed=ADMIN)),
    ("article list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/articles/", None,
     expect(200, allowed=READERS)),
    ("article detail", "get", lambda w: f"/api/v1/projects/{w.project.pk}/articles/{w.articles[0].pk}/", None,
     expect(200, allowed=READERS)),
    ("article import", "multipart", lambda w: f"/api/v1/projects/{w.project.pk}/articles/import/",
     lambda w: {"file": SimpleUploadedFile("a.jsonl", b'{"id": "new-1", "text": "Hello."}\n')},
     expect(201, allowed=ADMIN)),
    ("task next", "post", lambda w: f"/api/v1/projects/{w.project.pk}/tasks/next/", None,
     expect(200, allowed=WORKERS)),
    ("task progress", "get", lambda w: f"/api/v1/projects/{w.project.pk}/tasks/progress/", None,
     expect(200, allowed=WORKERS)),
    ("assignment list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/assignments/", None,
     expect(200, allowed=WORKERS)),
    ("assignment detail", "get", lambda w: f"/api/v1/assignments/{w.assignment.pk}/", None, own_read()),
    ("annotation get", "get", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/", None, own_read()),
    ("annotation put", "put", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/",
     lambda w: {"version": V(w), "notes": "x"}, own_write()),
    ("annotation patch", "patch", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/",
     lambda w: {"version": V(w), "notes": "x"}, own_write()),
    ("span create", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/",
     lambda w: {"version": V(w), "start": 1, "end": 3, "label": "ORG"}, own_write(201)),
    ("span patch", "patch", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/{w.span.pk}/",
     lambda w: {"version": V(w), "label": "ORG"}, own_write()),
    ("span delete", "delete",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/{w.span.pk}/?version={V(w)}", None,
     own_write()),
    ("suggestion list", "get", lambda w: f"/api/v1/assignments/{w.assignment.pk}/suggestions/", None, own_read()),
    ("suggestion accept", "post",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/suggestions/{w.suggestion.pk}/accept/",
     lambda w: {"version": V(w), "label": "ORG"}, own_write(201)),
    ("suggestion reject", "post",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/suggestions/{w.suggestion.pk}/reject/",
     lambda w: {"version": V(w)}, own_write()),
    ("assignment skip", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/skip/",
     lambda w: {"reason": "off topic"}, own_read()),
    ("assignment submit", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/submit/",
     lambda w: {"version": V(w)}, own_write()),
    ("assignment reopen", "post", lambda w: f"/api/v1/assignments/{w.submitted.pk}/reopen/", None,
     expect(200, allowed=("annotator", "admin", "reviewer", "superuser"), hidden=NOT_VISIBLE)),
    ("my work", "get", lambda w: "/api/v1/me/work/", None, expect(200, allowed=CALLERS[1:])),
    ("project annotations", "get", lambda w: f"/api/v1/projects/{w.project.pk}/annotations/", None,
     expect(200, allowed=READERS)),
    ("project stats", "get", lambda w: f"/api/v1/projects/{w.project.pk}/stats/", None,
     expect(200, allowed=READERS)),
    ("adjudication queue", "get", lambda w: f"{ADJ(w)}?state=few", None, expect(200, allowed=REVIEWERS)),
    ("adjudication article", "get", lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/", None,
     expect(200, allowed=REVIEWERS)),
    ("adjudication decide", "post", lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/decide/",
     lambda w: {"method": "edit", "stance": {}, "frames": [], "spans": [{"start": 0, "end": 8, "label": "PERSON"}]},
     expect(200, allowed=REVIEWERS)),
    ("adjudication undo", "delete", lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/gold/", None,
     expect(204, allowed=REVIEWERS)),
    ("gold span add", "post", lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/gold/spans/",
     lambda w: {"start": 15, "end": 19, "label": "PERSON", "version": 1}, expect(201, allowed=REVIEWERS)),
    ("gold span patch", "patch", lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/gold/spans/{w.gold_span.pk}/",
     lambda w: {"end": 9, "version": 1}, expect(200, allowed=REVIEWERS)),
    ("gold span delete", "delete",
     lambda w: f"{ADJ(w)}articles/{w.articles[2].pk}/gold/spans/{w.gold_span.pk}/?version=1", None,
     expect(200, allowed=REVIEWERS)),
    ("adjudication accept unanimous", "post", lambda w: f"{ADJ(w)}accept-unanimous/", lambda w: {},
     expect(200, allowed=REVIEWERS)),
    ("adjudication majority", "post", lambda w: f"{ADJ(w)}majority/", None, expect(200, allowed=REVIEWERS)),
    # Suggestion models (issue 16): reviewers and exporters read, admins train and activate.
    ("model list", "get", lambda w: f"/api/v1/projects/{w.project.pk}/models/", None, expect(200, allowed=READERS)),
    ("model train", "post", lambda w: f"/api/v1/projects/{w.project.pk}/models/train/", None,
     expect(202, allowed=ADMIN)),
    ("model activate", "post", lambda w: f"/api/v1/projects/{w.project.pk}/models/{_ready_model(w).version}/activate/",
     None, expect(200, allowed=ADMIN)),
    ("model settings", "get", lambda w: f"/api/v1/projects/{w.project.pk}/model-settings/", None,
     expect(200, allowed=READERS)),
    ("model settings patch", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/model-settings/",
     lambda w: {"withhold_share": 0.25}, expect(200, allowed=ADMIN)),
    ("article prediction", "get",
     lambda w: f"/api/v1/projects/{w.project.pk}/articles/{_prediction(w).article_id}/prediction/", None,
     expect(200, allowed=READERS)),
    # Suggestions are shown on one's own assignment only (reviewers and admins: 403).
    ("stance suggestions", "get", lambda w: f"/api/v1/assignments/{w.assignment.pk}/stance-suggestions/", None,
     expect(200, allowed=("annotator",), hidden=NOT_VISIBLE)),
]


def _ready_model(w):
    """A real (tiny) trained model version: an artefact on disk with its sha256, no targets."""
    import joblib
    from django.conf import settings

    from annotate import ml
    from annotate.models import TrainedModel

    existing = TrainedModel.objects.filter(project=w.project, version=1).first()
    if existing is not None:
        return existing
    path = settings.MODEL_ROOT / "matrix.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": 1, "featurizer": ml.Featurizer().fit([a.text for a in w.articles]), "targets": {},
                 "frames": None, "primary": None}, path)
    return TrainedModel.objects.create(project=w.project, version=1, status="ready", artefact_path=str(path),
                                       sha256=ml.sha256_of(path))


def _prediction(w):
    from annotate.models import ArticlePrediction, TrainedModel

    existing = ArticlePrediction.objects.filter(article=w.articles[0]).first()
    if existing is not None:
        return existing
    model = TrainedModel.objects.create(project=w.project, version=2, status="ready", is_active=True)
    return ArticlePrediction.objects.create(article=w.articles[0], model=model, stance={"sanctions": "FAVOR"},
                                            probabilities={"sanctions": {"FAVOR": 0.7, "AGAINST": 0.3}}, margin=0.4)


def build():
    w = make_world(articles=3, overlap=2)
    owner = w.users["annotator"]
    w.assignment = assignment_next(project=w.project, user=owner)
    annotation_update(assignment=w.assignment, by=owner, version=1, replace=True, fields={
        "stance": {"western-troops": "AGAINST", "sanctions": "FAVOR"}, "frames": ["Political"],
        "primary_frame": "Political", "spans": [{"start": 0, "end": 14, "label": "PERSON"}]})
    w.span = w.assignment.annotation.spans.get()
    w.submitted = Assignment.objects.create(project=w.project, article=w.articles[1], annotator=owner,
                                            status=Assignment.Status.SUBMITTED, submitted_at=timezone.now())
    Annotation.objects.create(assignment=w.submitted)
    w.membership2 = Membership.objects.get(project=w.project, user=w.users["annotator2"])
    gold = gold_edit(article=w.articles[2], by=w.users["reviewer"], stance={}, frames=[],
                     spans=[{"start": 0, "end": 14, "label": "PERSON"}])
    w.gold_span = gold.spans.get()
    return w


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_permission_matrix(name, method, url, body, expected, caller):
    w = build()
    client = w.client(None if caller == "anonymous" else caller)
    data = body(w) if body else None
    if method == "multipart":
        response = client.post(url(w), data, format="multipart")
    else:
        response = getattr(client, method)(url(w), data, format="json")
    assert response.status_code == expected[caller], (caller, name, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_matrix_covers_every_v1_route_of_this_module():
    """A new endpoint without a row in the matrix fails here."""
    from django.urls import get_resolver

    mine = ("api.me", "api.projects", "api.articles", "api.tasks", "api.annotations", "api.stats", "api.adjudication",
            "api.audit", "api.mywork", "api.invitations")
    routes = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif p.callback.__module__.startswith(mine):
                routes.add(p.name)

    walk(get_resolver().url_patterns)
    covered = {"me", "project-list", "project-detail", "target-list", "target-detail", "member-list",
               "member-detail", "article-list", "article-detail", "article-import", "task-next", "task-progress",
               "assignment-list", "assignment-detail", "annotation", "span-list", "span-detail", "suggestion-list",
               "suggestion-accept", "suggestion-reject", "assignment-skip", "assignment-submit", "assignment-reopen",
               "project-annotations", "project-stats", "adjudication-queue", "adjudication-article",
               "adjudication-decide", "adjudication-gold", "adjudication-gold-spans", "adjudication-gold-span",
               "adjudication-accept-unanimous", "adjudication-majority",
               "codebook-preview", "audit-list", "me-work", "me-tokens",
               "me-token", "project-invitations"}  # DELETE me/tokens/{id}/ depends on whose token: tests/unit/api/test_api_tokens.py
    assert routes == covered


ROLE_CALLERS = {"admin": "admin", "reviewer": "reviewer", "annotator": "annotator", "exporter": "exporter"}


def documented_operations() -> dict[tuple[str, str], dict]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method, path): op for path, item in schema["paths"].items() for method, op in item.items()}


def test_the_docs_say_who_may_call_each_endpoint_as_the_matrix_finds():
    """/api/docs/ tells every operation's callers ("Who may call: …"); that sentence must name
    exactly the roles that the matrix above lets through, or the docs mislead script authors."""
    import re

    operations = documented_operations()
    w = build()
    for name, method, url, _body, expected in ENDPOINTS:
        concrete = url(w).split("?")[0]
        http = "post" if method == "multipart" else method
        matches = [op for (m, path), op in operations.items()
                   if m == http and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), concrete)]
        assert len(matches) == 1, name
        description = matches[0]["description"]
        assert "**Who may call:**" in description, name
        who = description.split("**Who may call:**")[1]
        allowed = {role for role, caller in ROLE_CALLERS.items() if expected[caller] < 300}
        listed = re.search(r"whose role is ([a-z, ]+?) \(", who)
        if listed:  # project roles
            assert set(re.split(r", | or ", listed.group(1))) == allowed, (name, who)
            assert "non-members get 404" in who
        elif who.strip().startswith("its annotator only"):  # (stance suggestions: the same callers)
            assert allowed == {"annotator"}, name
        elif who.strip().startswith("its annotator, or a reviewer or admin"):
            assert allowed == {"annotator", "reviewer", "admin"}, name
        elif who.strip().startswith("reviewers and admins of its project"):
            assert allowed == {"reviewer", "admin"}, name
        else:  # any signed-in user / staff users
            assert allowed in ({"admin", "reviewer", "annotator", "exporter"}, set()), (name, who)
            assert ("staff" in who) == (expected["staff"] < 300 and expected["admin"] >= 300), name
        assert "round trip" not in description and "quer" not in description, name  # no implementation notes


def test_every_documented_operation_has_a_summary_and_says_who_may_call_it():
    for (method, path), op in documented_operations().items():
        if method in ("get", "post", "put", "patch", "delete"):
            assert op.get("summary"), (method, path)
            assert "**Who may call:**" in op["description"], (method, path)
