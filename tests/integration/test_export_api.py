"""Export REST endpoints: roles, 202 + status + download with ETag, 409 before done, error shape."""

from __future__ import annotations

import hashlib

import pytest

from annotate.models import ExportJob, Membership
from tests.factories import UserFactory, api_client, member
from tests.unit.exports.data import build_demo

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "expected"), [
    (Membership.Role.ADMIN, 202), (Membership.Role.EXPORTER, 202), (Membership.Role.REVIEWER, 202),
    (Membership.Role.ANNOTATOR, 403), ("outsider", 404), (None, 401),
])
def test_who_may_start_and_see_exports(role, expected, django_capture_on_commit_callbacks):
    demo = build_demo()
    url = f"/api/v1/projects/{demo.project.pk}/exports/"
    user = None if role is None else (UserFactory() if role == "outsider" else member(demo.project, role))
    client = api_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(url, {"format": "jsonl"}, format="json")
    assert resp.status_code == expected, resp.content
    listed = client.get(url)
    assert listed.status_code == (200 if expected == 202 else expected)
    if expected == 202:
        job = ExportJob.objects.get()
        for path in (f"/api/v1/exports/{job.pk}/", f"/api/v1/exports/{job.pk}/download/"):
            assert client.get(path).status_code == 200
    else:
        assert resp.json()["error"]["code"]
        other = ExportJob.objects.create(project=demo.project, format="jsonl.v1")
        assert client.get(f"/api/v1/exports/{other.pk}/").status_code == expected


def test_start_poll_download(django_capture_on_commit_callbacks):
    demo = build_demo()
    client = api_client(member(demo.project, Membership.Role.EXPORTER))
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/",
                           {"format": "conllu", "options": {"labels": "majority"}}, format="json")
    assert resp.status_code == 202
    body = resp.json()
    assert body["status"] == "queued" and body["format"] == "conllu.v1" and body["download_url"] is None
    status = client.get(f"/api/v1/exports/{body['id']}/").json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["counts"]["articles"] == 3
    assert status["download_url"].endswith(f"/api/v1/exports/{body['id']}/download/")
    download = client.get(f"/api/v1/exports/{body['id']}/download/")
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == status["sha256"] and len(data) == status["size_bytes"]
    assert download["ETag"] == f'"{status["sha256"]}"'
    assert f'filename="{status["file_name"]}"' in download["Content-Disposition"]
    # The file names the pipeline its tokens come from, then the first article.
    assert data.startswith(b"# pipeline = ") and data.split(b"\n")[1] == b"# newdoc id = ex-0"
    again = client.get(f"/api/v1/exports/{body['id']}/download/", HTTP_IF_NONE_MATCH=download["ETag"])
    assert again.status_code == 304
    listing = client.get(f"/api/v1/projects/{demo.project.pk}/exports/").json()
    assert [j["id"] for j in listing["results"]] == [body["id"]]


def test_download_before_done_is_409_and_bad_input_is_400():
    demo = build_demo()
    client = api_client(member(demo.project, Membership.Role.ADMIN))
    resp = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": "jsonl"}, format="json")
    assert resp.status_code == 202  # on_commit never ran: the job stays queued
    conflict = client.get(f"/api/v1/exports/{resp.json()['id']}/download/")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "export_not_ready"
    assert conflict.json()["error"]["details"] == {"status": "queued"}
    bad = client.post(f"/api/v1/projects/{demo.project.pk}/exports/",
                      {"format": "jsonl", "options": {"span_layer": "tokens"}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert "span_layer" in bad.json()["error"]["details"]
    unknown = client.post(f"/api/v1/projects/{demo.project.pk}/exports/", {"format": "xml"}, format="json")
    assert unknown.status_code == 400 and "format" in unknown.json()["error"]["details"]
