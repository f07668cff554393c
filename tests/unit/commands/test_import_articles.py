import json

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Article
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_command_rejects_bad_file_with_line_numbers(tmp_path, capsys):
    project = ProjectFactory(slug="p")
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "ok"}) + "\n" + json.dumps({"id": "2", "text": ""}) + "\n")
    with pytest.raises(CommandError):
        call_command("import_articles", str(path), project="p")
    assert "line 2: text: is empty" in capsys.readouterr().err
    assert not Article.objects.filter(project=project).exists()
    call_command("import_articles", str(path), project="p", skip_invalid=True)
    out = capsys.readouterr().out
    assert "1 created" in out and "skipped invalid line 2: text: is empty" in out


def test_unknown_project(tmp_path):
    with pytest.raises(CommandError, match="no project with slug 'nope'"):
        call_command("import_articles", str(tmp_path), project="nope")
