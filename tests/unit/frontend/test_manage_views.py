"""The /manage/ shell: login required, every screen path serves the management entry."""

from __future__ import annotations

import json

import pytest

from frontend import manage_views
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_manage_requires_login(client):
    response = client.get("/manage/projects/1/dashboard")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/manage/", "/manage/new", "/manage/projects/3/adjudication/41"])
def test_manage_shell_loads_the_manage_entry(client, settings, tmp_path, path):
    manifest = {
        "_shared.js": {"file": "assets/shared.js", "css": ["assets/shared.css"]},
        "src/manage/main.tsx": {"file": "assets/manage.js", "isEntry": True, "imports": ["_shared.js"],
                                "css": ["assets/manage.css"]},
    }
    (tmp_path / ".vite").mkdir()
    (tmp_path / ".vite" / "manifest.json").write_text(json.dumps(manifest))
    settings.FRONTEND_DIST = tmp_path
    settings.DEBUG = True  # read the manifest afresh (production caches it)
    client.force_login(UserFactory(username="rita", is_staff=True))
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "assets/manage.js" in html and "assets/manage.css" in html and "assets/shared.css" in html
    assert response.context["boot"]["is_staff"] is True


def test_manage_shell_says_so_when_not_built(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path
    settings.DEBUG = True
    assert manage_views.manage_assets() is None
    client.force_login(UserFactory())
    assert "not built yet" in client.get("/manage/").content.decode()
