"""The annotator UI's Django side: login/logout, and one shell for every screen path."""

from __future__ import annotations

import json

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MANIFEST = {
    "_jsx.js": {"file": "assets/jsx-1.js", "css": ["assets/shared.css"]},
    "src/main.tsx": {"file": "assets/main-abc.js", "isEntry": True, "imports": ["_jsx.js"], "css": ["assets/main.css"]},
}


@pytest.fixture
def built(settings, tmp_path):
    (tmp_path / ".vite").mkdir()
    (tmp_path / ".vite" / "manifest.json").write_text(json.dumps(MANIFEST))
    settings.FRONTEND_DIST = tmp_path
    settings.DEBUG = True  # read the manifest afresh (production caches it)
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/projects/3/", "/assignments/41/"])
def test_screens_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", ["/", "/projects/3/", "/assignments/41/"])
def test_shell_loads_the_hashed_entry_with_its_chunks(client, built, path):
    client.force_login(UserFactory(username="ana", first_name="Ana", last_name="Lima"))
    html = client.get(path).content.decode()
    assert '<script type="module" src="/static/assets/main-abc.js">' in html
    assert 'href="/static/assets/main.css"' in html and 'href="/static/assets/shared.css"' in html
    assert '<link rel="modulepreload" href="/static/assets/jsx-1.js">' in html
    assert '"display_name": "Ana Lima"' in html
    assert "csrftoken" in client.cookies  # the app sends it back on every write


def test_shell_says_how_to_build_when_dist_is_missing(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path
    settings.DEBUG = True
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    assert "npm ci &amp;&amp; npm run build" in html


def test_login_and_logout(client):
    UserFactory(username="ana")
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="username"' in page.content
    bad = client.post("/login/", {"username": "ana", "password": "wrong"})
    assert "didn't match" in bad.content.decode()
    ok = client.post("/login/", {"username": "ana", "password": "pw-for-tests-only", "next": "/projects/3/"})
    assert ok.status_code == 302 and ok["Location"] == "/projects/3/"
    assert client.get("/").status_code == 200
    out = client.post("/logout/")
    assert out.status_code == 302 and out["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_boot_data_cannot_break_out_of_its_script_tag(client, built):
    client.force_login(UserFactory(username="x", first_name="</script><script>alert(1)</script>"))
    html = client.get("/").content.decode()
    assert "<script>alert(1)" not in html
