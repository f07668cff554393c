import pytest
from django.core.management import call_command

from annotate.models import Article, Membership, Project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_var_dir(settings, tmp_path):
    """The demo keeps its passwords under VAR_DIR: never in the checkout's var/."""
    settings.VAR_DIR = tmp_path


def test_demo_creates_project_users_and_articles_and_is_safe_to_rerun(capsys):
    call_command("demo")
    first = capsys.readouterr().out
    assert "annotator1" in first and "annotator2" in first and "admin" in first
    call_command("demo")
    second = capsys.readouterr().out
    assert "already exist" in second
    project = Project.objects.get(slug="foreign-troops-in-ukraine")
    assert project.name == "Foreign troops in Ukraine"
    assert set(project.targets.values_list("key", flat=True)) >= {
        "western-troops", "russian-government", "ukrainian-government"}
    assert Article.objects.filter(project=project).count() == 5
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles["annotator1"] == roles["annotator2"] == "annotator" and roles["admin"] == "admin"


def test_demo_takes_passwords_from_the_environment(monkeypatch, client):
    monkeypatch.setenv("DEMO_ANNOTATOR_PASSWORD", "correct-horse-battery")
    call_command("demo")
    assert client.login(username="annotator2", password="correct-horse-battery")


def test_credentials_file_holds_the_passwords_that_log_in_now(settings, client):
    """Loaded again into a new database, the demo's users get new passwords: the file must name
    those, not the old database's (it used to keep both, the stale ones first)."""
    from django.contrib.auth import get_user_model

    path = settings.VAR_DIR / "demo_credentials.txt"
    path.write_text("admin stale-password\nsomeone-else kept\n")
    call_command("demo")
    lines = dict(line.split(" ", 1) for line in path.read_text().splitlines())
    assert set(lines) == {"admin", "annotator1", "annotator2", "reviewer", "exporter", "someone-else"}
    assert lines["someone-else"] == "kept"
    assert client.login(username="admin", password=lines["admin"])
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    get_user_model().objects.filter(username="annotator1").delete()
    call_command("demo")  # only annotator1 is new: the others keep their lines
    again = dict(line.split(" ", 1) for line in path.read_text().splitlines())
    assert again["admin"] == lines["admin"] and again["annotator1"] != lines["annotator1"]
    assert client.login(username="annotator1", password=again["annotator1"])
