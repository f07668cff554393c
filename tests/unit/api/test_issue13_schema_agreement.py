"""Issue 13 point 7: the OpenAPI schema says what the code does, where schemathesis found them apart."""

from __future__ import annotations

import pytest

from annotate.models import Membership
from tests.unit.api.test_permission_matrix import documented_operations
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def _components():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def test_issue13_export_options_are_closed_objects_in_the_schema_as_in_the_code():
    schemas = _components()
    assert schemas["ExportOptions"]["additionalProperties"] is False
    assert schemas["ExportSplit"]["additionalProperties"] is False
    w = make_world()
    r = w.client("exporter").post(f"/api/v1/projects/{w.project.pk}/exports/",
                                  {"format": "jsonl", "options": {"submitted_only": False, "bogus": 1}}, format="json")
    assert r.status_code == 400 and "unknown option 'bogus'" in r.json()["error"]["message"]


def test_issue13_label_schema_and_mappings_are_objects_in_the_schema_and_null_is_refused():
    patch = documented_operations()[("patch", "/api/v1/projects/{project_id}/")]
    ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    props = _components()[ref]["properties"]
    assert props["label_schema"]["type"] == "object" and props["mappings"]["type"] == "object"
    w = make_world()
    before = w.project.label_schema
    r = w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/", {"label_schema": None}, format="json")
    assert r.status_code == 400 and r.json()["error"]["details"] == {"label_schema": ["This field may not be null."]}
    r = w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/", {"label_schema": ["FAVOR"]}, format="json")
    assert r.status_code == 400 and "label_schema" in r.json()["error"]["details"]
    w.project.refresh_from_db()
    assert w.project.label_schema == before


def test_issue13_an_empty_member_patch_is_accepted_as_no_change():
    w = make_world()
    membership = Membership.objects.get(project=w.project, user=w.users["annotator"])
    r = w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/members/{membership.pk}/", {}, format="json")
    assert r.status_code == 200 and r.json()["role"] == "annotator"
    membership.refresh_from_db()
    assert membership.role == "annotator"
    bad = w.client("admin").patch(f"/api/v1/projects/{w.project.pk}/members/{membership.pk}/", {"role": "boss"},
                                  format="json")
    assert bad.status_code == 400 and "role" in bad.json()["error"]["details"]
