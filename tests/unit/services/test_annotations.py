"""annotate.services.annotations and .spans: versioned writes, validation naming the field, submit."""

import pytest

from annotate.errors import AssignmentClosed, Conflict, NotAssigned, NotFound, StaleWrite, ValidationFailed
from annotate.models import Annotation, Assignment, Span
from annotate.services.annotations import Incomplete, annotation_submit, annotation_update
from annotate.services.queue import assignment_next
from annotate.services.spans import (
    span_create,
    span_delete,
    span_update,
    suggestion_accept,
    suggestion_reject,
)
from tests.factories import ArticleFactory, ProjectFactory, SpanFactory, TargetFactory, UserFactory, member

pytestmark = pytest.mark.django_db

TEXT = "Putin 👋 said “troops would be targets”. " + "x" * 60  # an astral emoji before the quote


@pytest.fixture
def setup():
    project = ProjectFactory(overlap=1)
    TargetFactory(project=project, key="troops")
    TargetFactory(project=project, key="sanctions")
    article = ArticleFactory(project=project, text=TEXT)
    suggestion = SpanFactory(article=article, start=0, end=5, label="PERSON")
    user = UserFactory()
    assignment = assignment_next(project=project, user=user)
    return project, article, suggestion, user, assignment


def put(assignment, user, version, **fields):
    return annotation_update(assignment=assignment, by=user, version=version, fields=fields, replace=True)


def test_put_replaces_the_document_and_bumps_version(setup):
    _, _, _, user, a = setup
    ann = put(a, user, 1, stance={"troops": "AGAINST"}, frames=["Political"], notes="n",
              spans=[{"start": 0, "end": 5, "label": "PERSON"}])
    assert ann.version == 2
    ann = put(a, user, 2, stance={"sanctions": "FAVOR"})
    ann.refresh_from_db()
    assert (ann.version, ann.stance, ann.frames, ann.notes, ann.spans.count()) == (3, {"sanctions": "FAVOR"}, [], "", 0)
    assert Assignment.objects.get(pk=a.pk).status == Assignment.Status.IN_PROGRESS


def test_patch_changes_only_given_fields(setup):
    _, _, _, user, a = setup
    put(a, user, 1, stance={"troops": "AGAINST"}, notes="keep")
    ann = annotation_update(assignment=a, by=user, version=2, fields={"frames": ["Economic"]}, replace=False)
    assert (ann.stance, ann.notes, ann.frames) == ({"troops": "AGAINST"}, "keep", ["Economic"])


def test_stale_write_is_refused_with_the_current_state_and_nothing_written(setup):
    _, _, _, user, a = setup
    put(a, user, 1, notes="first writer")
    with pytest.raises(StaleWrite) as err:
        put(a, user, 1, notes="second writer, based on v1")
    assert err.value.details["current"]["notes"] == "first writer"
    assert err.value.details["current"]["version"] == 2
    assert Annotation.objects.get(assignment=a).notes == "first writer"


def test_span_offsets_are_code_points_and_checked_against_the_text(setup):
    _, article, _, user, a = setup
    start = TEXT.index("“")
    end = TEXT.index("”") + 1
    ann = put(a, user, 1, spans=[{"start": start, "end": end, "label": "QUOTE"}])
    span = ann.spans.get()
    assert article.text[span.start:span.end] == "“troops would be targets”"
    with pytest.raises(ValidationFailed) as err:
        put(a, user, 2, spans=[{"start": 0, "end": 5, "label": "PERSON"}, {"start": 1, "end": 2, "label": "ORG"},
                               {"start": 10, "end": 4120, "label": "QUOTE"}])
    assert str(err.value) == f"spans[2].end: 4120 is past the end of the text ({len(TEXT)})"
    assert err.value.details == {"spans[2].end": [f"4120 is past the end of the text ({len(TEXT)})"]}


@pytest.mark.parametrize(("fields", "path"), [
    ({"stance": {"nope": "FAVOR"}}, "stance.nope"),
    ({"stance": {"troops": "LOVE"}}, "stance.troops"),
    ({"frames": ["Economic", "Astrology"]}, "frames[1]"),
    ({"frames": ["Economic", "Economic"]}, "frames[1]"),
    ({"primary_frame": "Astrology"}, "primary_frame"),
    ({"spans": [{"start": 0, "end": 5, "label": "NOT_A_LABEL"}]}, "spans[0].label"),
    ({"spans": [{"start": 5, "end": 5, "label": "PERSON"}]}, "spans[0].end"),
    ({"spans": [{"start": -1, "end": 5, "label": "PERSON"}]}, "spans[0].start"),
    ({"spans": [{"start": 0, "end": 5, "label": "PERSON", "suggestion": 999999}]}, "spans[0].suggestion"),
    ({"rejected_suggestions": [123456789]}, "rejected_suggestions[0]"),
])
def test_invalid_fields_are_named_and_nothing_is_written(setup, fields, path):
    _, _, _, user, a = setup
    with pytest.raises(ValidationFailed) as err:
        annotation_update(assignment=a, by=user, version=1, fields=fields, replace=False)
    assert path in err.value.details
    assert str(err.value).startswith(f"{path}: ")
    assert Annotation.objects.get(assignment=a).version == 1


def test_the_same_span_twice_is_refused(setup):
    _, _, _, user, a = setup
    with pytest.raises(ValidationFailed) as err:
        put(a, user, 1, spans=[{"start": 0, "end": 5, "label": "PERSON"}, {"start": 0, "end": 5, "label": "PERSON"}])
    assert err.value.details == {"spans[1]": ["duplicate of spans[0] (PERSON 0-5)"]}
    ann = span_create(assignment=a, by=user, version=1, start=0, end=5, label="PERSON")
    with pytest.raises(Conflict):
        span_create(assignment=a, by=user, version=ann.version, start=0, end=5, label="PERSON")


def test_put_keeps_span_ids_updates_and_swaps_without_tripping_uniqueness(setup):
    _, _, _, user, a = setup
    ann = put(a, user, 1, spans=[{"start": 0, "end": 5, "label": "PERSON"}, {"start": 6, "end": 7, "label": "ORG"}])
    s1, s2 = ann.spans.order_by("start")
    ann = put(a, user, 2, spans=[{"id": s1.pk, "start": 6, "end": 7, "label": "ORG"},
                                 {"id": s2.pk, "start": 0, "end": 5, "label": "PERSON"}])
    assert {(s.pk, s.start, s.label) for s in ann.spans.all()} == {(s1.pk, 6, "ORG"), (s2.pk, 0, "PERSON")}


def test_only_the_assigned_annotator_may_write(setup):
    project, _, _, _, a = setup
    with pytest.raises(NotAssigned):  # a reviewer sees the assignment but may not write it
        put(a, member(project, "reviewer"), 1, notes="reviewer")
    with pytest.raises(NotFound):  # anyone else cannot tell that it exists
        put(a, member(project, "annotator"), 1, notes="intruder")
    with pytest.raises(NotFound):
        put(a, UserFactory(), 1, notes="intruder")
    with pytest.raises(NotFound):
        put(a.pk + 1000, UserFactory(), 1, notes="no such assignment")
    assert Annotation.objects.get(assignment=a).notes == ""


def test_submit_requires_completeness_then_closes(setup):
    _, _, _, user, a = setup
    put(a, user, 1, stance={"troops": "AGAINST"})
    with pytest.raises(Incomplete) as err:
        annotation_submit(assignment=a, by=user, version=2)
    assert set(err.value.details) == {"stance.sanctions", "frames"}
    put(a, user, 2, stance={"troops": "AGAINST", "sanctions": "NEUTRAL"}, frames=["Political", "Economic"])
    with pytest.raises(Incomplete) as err:
        annotation_submit(assignment=a, by=user, version=3)
    assert set(err.value.details) == {"primary_frame"}
    put(a, user, 3, stance={"troops": "AGAINST", "sanctions": "NEUTRAL"}, frames=["Political"],
        primary_frame="Political")
    closed = annotation_submit(assignment=a, by=user, version=4)
    assert closed.status == Assignment.Status.SUBMITTED and closed.submitted_at is not None
    with pytest.raises(AssignmentClosed):
        put(a, user, 5, notes="too late")


def test_submit_with_frames_optional(setup):
    project, _, _, user, a = setup
    project.label_schema = {**project.label_schema, "frames_required": "none", "primary_frame_required": False}
    project.save()
    put(a, user, 1, stance={"troops": "AGAINST", "sanctions": "FAVOR"})
    assert annotation_submit(assignment=a, by=user, version=2).status == Assignment.Status.SUBMITTED


def test_accept_relabel_and_reject_suggestions(setup):
    _, _, suggestion, user, a = setup
    other = SpanFactory(article=suggestion.article, start=6, end=7, label="ORG")
    ann = suggestion_accept(assignment=a, by=user, version=1, suggestion_id=suggestion.pk, label="ORG")
    copy = ann.spans.get()
    assert (copy.label, copy.origin, copy.suggestion_id) == ("ORG", Span.Origin.HUMAN, suggestion.pk)
    suggestion.refresh_from_db()
    assert (suggestion.label, suggestion.annotation_id) == ("PERSON", None)  # the suggestion is untouched
    ann = suggestion_reject(assignment=a, by=user, version=2, suggestion_id=other.pk)
    assert ann.rejected_suggestions == [other.pk]
    with pytest.raises(Conflict):
        suggestion_accept(assignment=a, by=user, version=3, suggestion_id=suggestion.pk, label="ORG")


def test_span_update_and_delete(setup):
    _, _, _, user, a = setup
    ann = span_create(assignment=a, by=user, version=1, start=0, end=5, label="PERSON")
    span = ann.spans.get()
    ann = span_update(assignment=a, by=user, version=2, span_id=span.pk, changes={"label": "ORG", "end": 4})
    span.refresh_from_db()
    assert (span.label, span.end, ann.version) == ("ORG", 4, 3)
    with pytest.raises(ValidationFailed) as err:
        span_update(assignment=a, by=user, version=3, span_id=span.pk, changes={"end": 10_000})
    assert "span.end" in err.value.details
    ann = span_delete(assignment=a, by=user, version=3, span_id=span.pk)
    assert ann.spans.count() == 0 and ann.version == 4


def test_spans_resent_without_ids_keep_their_rows(setup):
    """A script that PUTs its whole span list each time (no ids) does not churn rows or ids."""
    _, _, _, user, a = setup
    first = put(a, user, 1, spans=[{"start": 0, "end": 5, "label": "PERSON"}, {"start": 8, "end": 10, "label": "ORG"}])
    ids = {(s.start, s.end, s.label): s.pk for s in first.current_spans}
    again = put(a, user, 2, spans=[{"start": 8, "end": 10, "label": "ORG"}, {"start": 0, "end": 5, "label": "PERSON"},
                                   {"start": 0, "end": 5, "label": "ORG"}])
    now = {(s.start, s.end, s.label): s.pk for s in again.current_spans}
    assert list(now) == [(0, 5, "ORG"), (0, 5, "PERSON"), (8, 10, "ORG")]  # sorted as the document lists them
    assert now[(0, 5, "PERSON")] == ids[(0, 5, "PERSON")] and now[(8, 10, "ORG")] == ids[(8, 10, "ORG")]
    assert sorted(Span.objects.filter(annotation=a.annotation).values_list("pk", flat=True)) == sorted(now.values())
    ids = list(ids.values())
    # An explicit id wins over a same-offset match: moving span 1 onto span 2's place and re-adding
    # span 1's old place without id is a move plus a new span, not a swap of ids.
    moved = put(a, user, 3, spans=[{"id": ids[0], "start": 8, "end": 10, "label": "ORG"},
                                   {"start": 0, "end": 5, "label": "PERSON"}])
    assert {(s.pk == ids[0], s.start, s.label) for s in moved.current_spans} == {(True, 8, "ORG"), (False, 0, "PERSON")}
    assert Span.objects.filter(annotation=a.annotation).count() == 2


def test_a_missing_or_mistyped_version_is_named_and_nothing_is_written(setup):
    _, _, _, user, a = setup
    for version, said in ((None, "version: required"), ("1", "version: '1' is not an integer")):
        with pytest.raises(ValidationFailed) as err:
            put(a, user, version, notes="lost?")
        assert err.value.message.startswith(said)
    assert Annotation.objects.get(assignment=a).notes == ""


def test_issue13_the_write_itself_requires_the_checked_version(setup, monkeypatch):
    """A writer that got past the version check on an old read (the lost update of issue 13) is
    stopped by the UPDATE itself: StaleWrite with the committed state, and nothing it did stays
    (spans, the assignment's touch)."""
    from annotate.services import annotations as service

    _, _, _, user, a = setup
    complete = {"stance": {"troops": "FAVOR", "sanctions": "AGAINST"}, "frames": ["Political"],
                "primary_frame": "Political"}
    put(a, user, 1, notes="before", **complete)
    touched = Assignment.objects.get(pk=a.pk).last_activity_at
    real_lock = service.assignment_lock_for

    def lock_then_lose_the_race(**kwargs):
        locked = real_lock(**kwargs)
        locked.annotation.version -= 1  # as if read before another writer's commit
        return locked

    monkeypatch.setattr(service, "assignment_lock_for", lock_then_lose_the_race)
    with pytest.raises(StaleWrite) as err:
        put(a, user, 1, notes="lost", spans=[{"start": 0, "end": 5, "label": "PERSON"}], **complete)
    assert (err.value.details["current"]["version"], err.value.details["current"]["notes"]) == (2, "before")
    assert err.value.details["current"]["spans"] == []
    ann = Annotation.objects.get(assignment=a)
    assert (ann.version, ann.notes, ann.spans.count()) == (2, "before", 0)
    assert Assignment.objects.get(pk=a.pk).last_activity_at == touched
    with pytest.raises(StaleWrite):
        annotation_submit(assignment=a, by=user, version=1)
    assert Assignment.objects.get(pk=a.pk).status == Assignment.Status.IN_PROGRESS
    with pytest.raises(StaleWrite):
        span_create(assignment=a, by=user, version=1, start=0, end=5, label="PERSON")
    assert Annotation.objects.get(assignment=a).spans.count() == 0


def test_an_assignment_made_outside_the_queue_gets_its_annotation_on_first_write(setup):
    project, article, _, user, _ = setup
    other = ArticleFactory(project=project)
    a = Assignment.objects.create(project=project, article=other, annotator=user)
    assert not Annotation.objects.filter(assignment=a).exists()
    ann = annotation_update(assignment=a.pk, by=user, version=1, fields={"notes": "first"}, replace=False)
    assert (ann.version, Annotation.objects.get(assignment=a).notes) == (2, "first")
