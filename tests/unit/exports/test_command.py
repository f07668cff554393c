"""`manage.py export`: the same service as REST, a file at --out."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.models import ExportJob

from .data import build_demo, run_export

pytestmark = pytest.mark.django_db


def test_export_command_writes_the_same_bytes_as_the_service(tmp_path, capsys):
    demo = build_demo()
    out = tmp_path / "dataset.jsonl"
    call_command("export", "--project", "demo-export", "--format", "jsonl", "--out", str(out), "--labels", "majority")
    printed = capsys.readouterr().out
    job = ExportJob.objects.get()
    assert job.status == "done" and job.sha256 in printed
    _, path = run_export(demo.project, "jsonl", labels="majority")
    assert out.read_bytes() == path.read_bytes()
    assert len(out.read_text().splitlines()) == 3


def test_export_command_options_and_errors(tmp_path):
    build_demo()
    out = tmp_path / "d.conllu"
    call_command("export", "--project", "demo-export", "--format", "conllu", "--out", str(out),
                 "--include-drafts", "--split", "80,10,10", "--seed", "3")
    job = ExportJob.objects.get()
    # group_by is stored resolved: null (stratified by stance) when the project has no near-duplicates.
    assert job.options["submitted_only"] is False and job.options["split"] == {"seed": 3, "train": 80, "dev": 10,
                                                                               "test": 10, "group_by": None}
    assert job.counts["articles"] == 4
    with pytest.raises(CommandError, match="no project"):
        call_command("export", "--project", "nope", "--format", "jsonl", "--out", str(out))
    with pytest.raises(CommandError, match="unknown target"):
        call_command("export", "--project", "demo-export", "--format", "jsonl", "--out", str(out),
                     "--targets", "western-troops,moon")
    with pytest.raises(CommandError, match="TRAIN,DEV,TEST"):
        call_command("export", "--project", "demo-export", "--format", "jsonl", "--out", str(out), "--split", "80")
    call_command("export", "--project", "demo-export", "--format", "jsonl", "--out", str(out),
                 "--options", json.dumps({"labels": "gold"}))
    assert len(out.read_text().splitlines()) == 1
