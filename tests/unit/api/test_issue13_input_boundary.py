"""Issue 13 points 3 and 4 over the real API: hostile but well-formed JSON on every JSON write
endpoint is a 400 naming the field, with nothing written; poison that used to be stored (and then
broke every read) is refused at the door.

Bodies are hand-written strings: a JSON encoder would never produce a lone surrogate, and the
point is what a hostile client can send.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from annotate.models import (
    Annotation,
    ApiToken,
    Article,
    Assignment,
    AuditEvent,
    ExportJob,
    Gold,
    Membership,
    Project,
    Span,
    Target,
)
from tests.unit.api.test_permission_matrix import V, build

pytestmark = pytest.mark.django_db

POISON = {
    "nul": ('"a\\u0000b"', "contains a NUL character"),
    "lone_surrogate": ('"\\ud800"', "lone UTF-16 surrogate"),
    "deep": ("[" * 1000 + "]" * 1000, "nested deeper than 64 levels"),
    "int_2_64": ("18446744073709551616", "outside the signed 64-bit range"),
    "int_below_min": ("-9223372036854775809", "outside the signed 64-bit range"),
    "infinite": ("1e999", "is not a finite number"),
}

# name, caller, method, url(w), body(w) with "@" where the poison goes, the field path named
ENDPOINTS = [
    ("annotation put", "annotator", "put", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/",
     lambda w: {"version": V(w), "notes": "@"}, "notes"),
    ("annotation patch", "annotator", "patch", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/",
     lambda w: {"version": V(w), "stance": {"western-troops": "@"}}, "stance.western-troops"),
    ("span create", "annotator", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/",
     lambda w: {"version": V(w), "start": 1, "end": 3, "label": "ORG", "attrs": {"x": "@"}}, "attrs.x"),
    ("span patch", "annotator", "patch",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/{w.span.pk}/",
     lambda w: {"version": V(w), "label": "@"}, "label"),
    ("suggestion accept", "annotator", "post",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/suggestions/{w.suggestion.pk}/accept/",
     lambda w: {"version": V(w), "label": "@"}, "label"),
    ("suggestion reject", "annotator", "post",
     lambda w: f"/api/v1/assignments/{w.assignment.pk}/suggestions/{w.suggestion.pk}/reject/",
     lambda w: {"version": V(w), "reason": "@"}, "reason"),
    ("assignment skip", "annotator", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/skip/",
     lambda w: {"reason": "@"}, "reason"),
    ("assignment submit", "annotator", "post", lambda w: f"/api/v1/assignments/{w.assignment.pk}/submit/",
     lambda w: {"version": V(w), "notes": "@"}, "notes"),
    ("project create", "staff", "post", lambda w: "/api/v1/projects/",
     lambda w: {"name": "@", "slug": "new-one"}, "name"),
    ("project patch", "admin", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/",
     lambda w: {"label_schema": {"frames": ["Economic", "@"]}}, "label_schema.frames[1]"),
    ("target create", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/targets/",
     lambda w: {"key": "nato", "name": "@"}, "name"),
    ("target patch", "admin", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/targets/{w.targets[0].pk}/",
     lambda w: {"description": "@"}, "description"),
    ("member add", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/members/",
     lambda w: {"user": "@", "role": "annotator"}, "user"),
    ("member patch", "admin", "patch",
     lambda w: f"/api/v1/projects/{w.project.pk}/members/{w.membership2.pk}/",
     lambda w: {"role": "@"}, "role"),
    ("export create", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/exports/",
     lambda w: {"format": "jsonl", "options": {"split": {"seed": "@"}}}, "options.split.seed"),
    ("adjudication decide", "admin", "post",
     lambda w: f"/api/v1/projects/{w.project.pk}/adjudication/articles/{w.articles[0].pk}/decide/",
     lambda w: {"method": "edit", "spans": [{"start": 0, "end": 4, "label": "PERSON", "attrs": {"k": "@"}}]},
     "spans[0].attrs.k"),
    ("project put", "admin", "put", lambda w: f"/api/v1/projects/{w.project.pk}/",
     lambda w: {"name": "@", "slug": w.project.slug, "label_schema": {}}, "name"),
    ("codebook preview", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/codebook/preview/",
     lambda w: {"label_schema": {"stance_labels": ["FAVOR", "@"]}}, "label_schema.stance_labels[1]"),
    ("gold span create", "reviewer", "post",
     lambda w: f"/api/v1/projects/{w.project.pk}/adjudication/articles/{w.articles[2].pk}/gold/spans/",
     lambda w: {"start": 0, "end": 4, "label": "PERSON", "attrs": {"k": "@"}}, "attrs.k"),
    ("gold span patch", "reviewer", "patch",
     lambda w: f"/api/v1/projects/{w.project.pk}/adjudication/articles/{w.articles[2].pk}/gold/spans/"
               f"{w.gold_span.pk}/",
     lambda w: {"speaker": "@"}, "speaker"),
    ("adjudication accept-unanimous", "admin", "post",
     lambda w: f"/api/v1/projects/{w.project.pk}/adjudication/accept-unanimous/",
     lambda w: {"article_ids": ["@"]}, "article_ids[0]"),
    ("model settings patch", "admin", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/model-settings/",
     lambda w: {"queue_order": "@"}, "queue_order"),
    ("token create", "annotator", "post", lambda w: "/api/v1/me/tokens/", lambda w: {"name": "@"}, "name"),
    ("user invite", "reviewer", "post", lambda w: f"/api/v1/projects/{w.project.pk}/invitations/",
     lambda w: {"username": "@", "role": "annotator"}, "username"),
    ("story rename", "admin", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/stories/{_story(w).pk}/",
     lambda w: {"name": "@"}, "name"),
    ("story merge", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/stories/merge/",
     lambda w: {"stories": [_story(w).pk, "@"]}, "stories[1]"),
    ("story split", "admin", "post", lambda w: f"/api/v1/projects/{w.project.pk}/stories/{_story(w).pk}/split/",
     lambda w: {"articles": ["@"]}, "articles[0]"),
    ("story settings", "admin", "patch", lambda w: f"/api/v1/projects/{w.project.pk}/stories/settings/",
     lambda w: {"duplicate_policy": "@"}, "duplicate_policy"),
]


def _story(w):
    """One story of the world's articles (made once per world)."""
    from annotate.models import Story, StoryArticle

    if not hasattr(w, "story"):
        w.story = Story.objects.create(project=w.project, name="Story")
        StoryArticle.objects.bulk_create([StoryArticle(article=a, story=w.story) for a in w.articles])
    return w.story


def snapshot():
    """Everything these endpoints could write."""
    return {
        "counts": {m.__name__: m.objects.count() for m in (
            Project, Target, Membership, Article, Assignment, Annotation, Span, Gold, ExportJob, AuditEvent,
            ApiToken, get_user_model())},
        "annotations": sorted(Annotation.objects.values_list("id", "version", "notes", "stance", "updated_at")),
        "assignments": sorted(Assignment.objects.values_list("id", "status")),
        "projects": sorted(Project.objects.values_list("id", "name", "description", "label_schema", "updated_at")),
        "targets": sorted(Target.objects.values_list("id", "key", "name", "description")),
        "members": sorted(Membership.objects.values_list("id", "role")),
        "spans": sorted(Span.objects.values_list("id", "label", "attrs", "annotation_id")),
    }


def raw_body(body: dict, poison: str) -> str:
    text = json.dumps(body)
    assert text.count('"@"') == 1
    return text.replace('"@"', poison)


@pytest.mark.parametrize("poison", POISON, ids=list(POISON))
@pytest.mark.parametrize(("name", "caller", "method", "url", "body", "field"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_hostile_json_is_a_400_naming_the_field_with_nothing_written(name, caller, method, url, body, field, poison):
    w = build()
    client = w.client(caller)
    before = snapshot()
    text, message = POISON[poison]
    response = getattr(client, method)(url(w), raw_body(body(w), text), content_type="application/json")
    assert response.status_code == 400, (name, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert message in error["message"]
    assert error["message"].startswith(f"{field}"), error["message"]
    (path,) = error["details"]
    assert path.startswith(field) and message in error["details"][path][0]
    assert snapshot() == before


def test_every_json_write_endpoint_is_tested_here():
    from tests.unit.api.test_permission_matrix import documented_operations

    json_writes = {(m, p) for (m, p), op in documented_operations().items()
                   if m in ("post", "put", "patch") and "application/json" in op.get("requestBody", {}).get("content", {})}
    # A new JSON write endpoint fails here until it has a row above.
    assert len(json_writes) == len(ENDPOINTS) == 28


def test_the_message_names_the_path_inside_span_attrs():
    w = build()
    body = {"version": V(w), "spans": [{"start": 0, "end": 14, "label": "PERSON"},
                                       {"start": 15, "end": 17, "label": "ORG"},
                                       {"start": 18, "end": 20, "label": "ORG", "attrs": {"x": "@"}}]}
    response = w.client("annotator").put(f"/api/v1/assignments/{w.assignment.pk}/annotation/",
                                         raw_body(body, "[" * 300 + "]" * 300), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("spans[2].attrs.x[0][0]")
    assert response.json()["error"]["message"].endswith(": nested deeper than 64 levels")


def test_span_attrs_nested_300_deep_are_refused_and_every_read_keeps_working():
    """Before: committed, then the assignment detail, `next`, the reviewers' list and the JSONL
    export all failed on it (orjson cannot render past 254 levels)."""
    w = build()
    deep = {"x": None}
    for _ in range(300):
        deep = {"x": deep}
    body = json.dumps({"version": V(w), "start": 1, "end": 3, "label": "ORG", "attrs": deep})
    client = w.client("annotator")
    response = client.post(f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/", body,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("attrs.x.x.x")
    assert client.get(f"/api/v1/assignments/{w.assignment.pk}/").status_code == 200
    assert w.client("reviewer").get(f"/api/v1/projects/{w.project.pk}/annotations/").status_code == 200


def test_a_body_64_levels_deep_is_still_accepted():
    w = build()
    deep: object = "ok"
    for _ in range(61):  # body {} > attrs {} > 61 more levels = 63 containers
        deep = {"x": deep}
    body = json.dumps({"version": V(w), "start": 1, "end": 3, "label": "ORG", "attrs": deep})
    response = w.client("annotator").post(f"/api/v1/assignments/{w.assignment.pk}/annotation/spans/", body,
                                          content_type="application/json")
    assert response.status_code == 201, response.content[:300]


def test_valid_astral_characters_and_escaped_pairs_pass():
    w = build()
    body = '{"version": ' + str(V(w)) + ', "notes": "\\ud83d\\ude00 and \U0001F600 and 9223372036854775807"}'
    response = w.client("annotator").patch(f"/api/v1/assignments/{w.assignment.pk}/annotation/", body,
                                           content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert Annotation.objects.get(assignment=w.assignment).notes == "\U0001F600 and \U0001F600 and 9223372036854775807"


def test_the_parser_refuses_a_body_over_the_size_limit_in_the_error_shape(settings):
    """DRF reads JSON through Django's request.body (which applies DATA_UPLOAD_MAX_MEMORY_SIZE
    itself); the parser applies the same limit to any stream it is handed."""
    import io

    from annotate.inputs import InputRefused
    from api.parsers import BoundaryJSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    with pytest.raises(InputRefused) as caught:
        BoundaryJSONParser().parse(io.BytesIO(json.dumps({"notes": "n" * 2000}).encode()))
    assert caught.value.details == {"body": [caught.value.message[len("body: "):]]}
    assert "over the limit of 1,000 bytes" in caught.value.message
    assert BoundaryJSONParser().parse(io.BytesIO(b'{"notes": "short"}')) == {"notes": "short"}


def test_malformed_json_is_still_a_parse_error():
    w = build()
    response = w.client("annotator").patch(f"/api/v1/assignments/{w.assignment.pk}/annotation/", '{"notes": ',
                                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    response = w.client("annotator").patch(f"/api/v1/assignments/{w.assignment.pk}/annotation/", '{"notes": NaN}',
                                           content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("seed", [2**63, 2**80])
def test_a_split_seed_past_64_bits_is_refused_and_the_export_list_keeps_working(seed):
    """Before: `split.seed = 2**80` was stored and the project's export list failed for everyone."""
    from annotate.errors import ValidationFailed
    from annotate.exports.options import export_options_validate

    with pytest.raises(ValidationFailed) as caught:
        export_options_validate({"split": {"seed": seed, "train": 80, "dev": 10, "test": 10}}, target_keys=[])
    assert "split.seed" in caught.value.details
    w = build()
    response = w.client("admin").post(f"/api/v1/projects/{w.project.pk}/exports/",
                                      {"format": "jsonl", "options": {"split": {"seed": seed}}}, format="json")
    assert response.status_code == 400
    assert not ExportJob.objects.exists()
    assert w.client("admin").get(f"/api/v1/projects/{w.project.pk}/exports/").status_code == 200
