"""The span and label rules live in one module (annotate/spanrules.py): annotations, gold and
import give the same message for the same bad span (issue 14 point 7)."""

from __future__ import annotations

import pytest

from annotate import spanrules
from annotate.errors import ValidationFailed
from annotate.importing.validate import validate_record
from annotate.models import Membership
from annotate.services.annotations import annotation_update
from annotate.services.gold import gold_edit
from annotate.services.queue import assignment_next
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, TargetFactory

TEXT = "Vladimir Putin said “Western troops would be legitimate targets,” according to Reuters."
N = len(TEXT)
OK = {"start": 0, "end": 14, "label": "PERSON"}

BAD = [
    ([OK, {"start": 80, "end": 4120, "label": "PERSON"}], f"spans[1].end: 4120 is past the end of the text ({N})"),
    ([{"start": 9, "end": 3, "label": "PERSON"}], "spans[0].end: 3 must be greater than start (9)"),
    ([{"start": -1, "end": 3, "label": "PERSON"}], "spans[0].start: -1 is not a non-negative integer"),
    ([{"start": "0", "end": 3, "label": "PERSON"}], "spans[0].start: '0' is not a non-negative integer"),
    ([{"start": 0, "end": 3, "label": "VILLAIN"}], "spans[0].label: 'VILLAIN' is not a span label of this project"),
    ([OK, dict(OK)], "spans[1]: duplicate of spans[0] (PERSON 0-14)"),
    ([{"start": 20, "end": 65, "label": "QUOTE", "attrs": {"kind": "indirect"}}],
     "spans[0].attrs.kind: 'indirect' is not a quote kind (direct, partial, scare)"),
    ([{"start": 20, "end": 65, "label": "QUOTE", "attrs": {"speaker_span": {"start": 0, "end": 999}}}],
     f"spans[0].attrs.speaker_span.end: 999 is past the end of the text ({N})"),
    ([{"start": 0, "end": 3, "label": "PERSON", "attrs": []}], "spans[0].attrs: must be an object"),
]


@pytest.fixture
def world(db):
    project = ProjectFactory(overlap=1)
    TargetFactory(project=project, key="troops")
    article = ArticleFactory(project=project, text=TEXT)
    user = MembershipFactory(project=project, role=Membership.Role.ADMIN).user
    return project, article, user


def via_annotation(world, spans) -> str:
    project, article, user = world
    assignment = assignment_next(project=project, user=user)
    with pytest.raises(ValidationFailed) as err:
        annotation_update(assignment=assignment, by=user, version=1, replace=True, fields={"spans": spans})
    return str(err.value)


def via_gold(world, spans) -> str:
    _, article, user = world
    with pytest.raises(ValidationFailed) as err:
        gold_edit(article=article, by=user, stance={}, frames=[], spans=spans)
    return str(err.value)


def via_import(world, spans) -> str:
    project = world[0]
    errors = validate_record({"id": "x", "text": TEXT, "spans": spans}, 3, span_labels=set(project.span_labels),
                             max_chars=10**6)
    assert isinstance(errors, list), "the import accepted it"
    return str(errors[0]).removeprefix("line 3: ")


@pytest.mark.parametrize(("spans", "message"), BAD, ids=[m.split(":")[0] + ":" + m.split(":")[1][:20] for _, m in BAD])
@pytest.mark.parametrize("caller", [via_annotation, via_gold, via_import], ids=["annotation", "gold", "import"])
def test_every_caller_gives_the_same_message_for_the_same_bad_span(world, caller, spans, message):
    assert caller(world, spans).startswith(message)


def test_an_empty_stance_means_not_set_for_annotations_and_gold(world):
    project, article, user = world
    assignment = assignment_next(project=project, user=user)
    ann = annotation_update(assignment=assignment, by=user, version=1, replace=True, fields={"stance": {"troops": ""}})
    gold = gold_edit(article=article, by=user, stance={"troops": ""}, frames=[], spans=[])
    assert ann.stance == {} and gold.stance == {}


def test_an_offset_inside_a_surrogate_pair_is_refused():
    text = "ab\ud83d\ude00cd"  # a text holding an astral character as two surrogate code points
    errors = spanrules.Errors()
    spanrules.check_spans([{"start": 0, "end": 3, "label": "X"}, {"start": 3, "end": 6, "label": "X"}],
                          errors=errors, text_len=len(text), text=text, span_labels={"X"})
    assert errors.items == {"spans[0].end": ["3 splits a surrogate pair (offsets count code points)"],
                            "spans[1].start": ["3 splits a surrogate pair (offsets count code points)"]}
    rejected = validate_record({"text": text, "spans": [{"start": 1, "end": 3, "label": "X"}]}, 1,
                               span_labels={"X"}, max_chars=100)
    # On import the input boundary (annotate.inputs) refuses such a text before any span is read:
    # surrogate code points cannot be stored, so imported spans can never split one.
    assert [str(e) for e in rejected] == [
        "line 1: text: contains a lone UTF-16 surrogate (\\ud83d), which is not valid Unicode and cannot be stored"]
    ok = spanrules.Errors()
    spanrules.check_spans([{"start": 2, "end": 4, "label": "X"}], errors=ok, text_len=len(text), text=text,
                          span_labels={"X"})
    assert ok.items == {}
