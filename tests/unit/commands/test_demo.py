import pytest
from django.core.management import call_command

from annotate.models import Article, Membership, Project

pytestmark = pytest.mark.django_db


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
