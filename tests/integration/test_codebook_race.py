"""A codebook change racing an autosave on PostgreSQL (issue 14, bad input): the autosave that
waited for the change's locks must get 409 stale_write, never write a label the change removed."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from annotate.errors import StaleWrite
from annotate.label_schema import default_label_schema
from annotate.models import Annotation
from annotate.services import codebook
from annotate.services.annotations import annotation_update
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ProjectFactory,
    TargetFactory,
    UserFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_issue14_an_autosave_waiting_for_a_codebook_change_gets_stale_write(transactional_db, monkeypatch):
    project = ProjectFactory(label_schema={**default_label_schema(), "stance_labels": ["FAVOR", "OPPOSE"]})
    TargetFactory(project=project, key="troops")
    annotator = UserFactory()
    assignment = AssignmentFactory(article=ArticleFactory(project=project), annotator=annotator, status="in_progress")
    AnnotationFactory(assignment=assignment, stance={"troops": "OPPOSE"}, version=1)
    locked, go_on = threading.Event(), threading.Event()
    real_audit = codebook.audit_record

    def audit_then_wait(**kwargs):  # the change holds its locks here until the autosave waits on them
        event = real_audit(**kwargs)
        locked.set()
        go_on.wait(10)
        return event

    monkeypatch.setattr(codebook, "audit_record", audit_then_wait)
    outcome: dict = {}

    def change():
        try:
            codebook.codebook_change(project=project, by=None, schema={**project.label_schema, "stance_labels": [
                "FAVOR", "AGAINST"]}, mappings={"stance_labels": {"OPPOSE": "AGAINST"}})
        finally:
            connection.close()

    def autosave():
        try:
            annotation_update(assignment=assignment.pk, by=annotator, version=1, replace=False,
                              fields={"stance": {"troops": "OPPOSE"}, "notes": "typed during the change"})
            outcome["saved"] = True
        except StaleWrite as exc:
            outcome["stale"] = exc
        except Exception as exc:
            outcome["other"] = exc
        finally:
            connection.close()

    t1 = threading.Thread(target=change)
    t1.start()
    assert locked.wait(10)
    t2 = threading.Thread(target=autosave)
    t2.start()
    time.sleep(0.5)  # the autosave is now waiting for the assignment lock
    go_on.set()
    t1.join(20)
    t2.join(20)
    annotation = Annotation.objects.get(assignment=assignment)
    assert annotation.stance == {"troops": "AGAINST"}, outcome
    assert "stale" in outcome, outcome
