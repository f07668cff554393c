"""Editable gold (issue 14 point 6): add, move, relabel, remove one gold span, speaker and kind,
gold for articles with one annotation or none, provenance per span, versions, audit events."""

from __future__ import annotations

import pytest

from annotate.errors import NotFound, StaleWrite, ValidationFailed
from annotate.models import AuditEvent, Gold, Span
from annotate.selectors.adjudication import adjudication_article, adjudication_queue
from annotate.services.gold import (
    gold_delete,
    gold_edit,
    gold_pick,
    gold_span_add,
    gold_span_remove,
    gold_span_update,
)
from tests.factories import ArticleFactory, ProjectFactory, SpanFactory, TargetFactory, UserFactory
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db

TEXT = "Vladimir Putin said “Western troops would be legitimate targets,” according to Reuters."
QUOTE = (TEXT.index("“"), TEXT.index("”") + 1)


@pytest.fixture
def project():
    p = ProjectFactory(overlap=2)
    TargetFactory(project=p, key="troops")
    return p


@pytest.fixture
def rita():
    return UserFactory(username="rita")


@pytest.fixture
def single(project):
    """An article that only one annotator (ana) submitted: no majority of two exists."""
    article = ArticleFactory(project=project, text=TEXT)
    ann = submit(article, UserFactory(username="ana"), {"troops": "AGAINST"}, frames=["Political"],
                 primary="Political", spans=[(0, 14, "PERSON")])
    return article, ann


def rows():
    return Gold.objects.count(), Span.objects.filter(gold__isnull=False).count(), AuditEvent.objects.count()


def test_an_article_with_one_annotation_is_listed_and_can_be_adjudicated(project, single, rita):
    article, ann = single
    nobody = ArticleFactory(project=project, text=TEXT)
    assert [i.article_id for i in adjudication_queue(project=project, state="few")] == [article.pk, nobody.pk]
    assert adjudication_queue(project=project, state="open") == []

    gold, span = gold_span_add(article=article, by=rita, fields={"start": QUOTE[0], "end": QUOTE[1], "label": "QUOTE",
                                                                 "kind": "direct", "speaker": "Vladimir Putin",
                                                                 "speaker_span": {"start": 0, "end": 14}})
    assert (gold.method, gold.decided_by, gold.version) == (Gold.Method.ADJUDICATED, rita, 1)
    # The gold started from what the one annotator said, and says where each span came from.
    assert gold.stance == {"troops": "AGAINST"} and gold.frames == ["Political"]
    by_label = {s.label: s for s in gold.spans.all()}
    assert by_label["PERSON"].gold_source == Span.GoldSource.CONSENSUS
    assert (by_label["QUOTE"].gold_source, by_label["QUOTE"].attrs) == (
        Span.GoldSource.ADJUDICATOR, {"kind": "direct", "speaker": "Vladimir Putin",
                                      "speaker_span": {"start": 0, "end": 14}})
    assert span.pk == by_label["QUOTE"].pk
    assert [i.article_id for i in adjudication_queue(project=project, state="few")] == [nobody.pk]
    assert [i.article_id for i in adjudication_queue(project=project, state="decided")] == [article.pk]

    # An article nobody annotated can be given gold too.
    gold2 = gold_edit(article=nobody, by=rita, stance={"troops": "FAVOR"}, frames=[], spans=[
        {"start": 0, "end": 8, "label": "PERSON"}])
    assert gold2.method == Gold.Method.ADJUDICATED and gold2.spans.get().gold_source == Span.GoldSource.ADJUDICATOR


def test_move_relabel_speaker_kind_and_remove(project, single, rita):
    article, ann = single
    gold = gold_pick(article=article, annotation_id=ann.pk, by=rita)
    person = gold.spans.get()
    assert (person.gold_source, person.from_annotation_id) == (Span.GoldSource.ANNOTATION, ann.pk)

    gold, moved = gold_span_update(article=article, span_id=person.pk, by=rita, fields={"start": 9, "end": 14})
    assert (moved.pk, moved.start, moved.end, gold.version) == (person.pk, 9, 14, 2)
    # Moved: the adjudicator's span now, still saying which annotation it was based on.
    assert (moved.gold_source, moved.from_annotation_id) == (Span.GoldSource.ADJUDICATOR, ann.pk)

    gold, quote = gold_span_add(article=article, by=rita, fields={"start": QUOTE[0], "end": QUOTE[1],
                                                                  "label": "QUOTE", "kind": "partial"})
    gold, quote = gold_span_update(article=article, span_id=quote.pk, by=rita, fields={
        "kind": "scare", "speaker": "Putin", "speaker_span": {"start": 9, "end": 14}})
    assert quote.attrs == {"kind": "scare", "speaker": "Putin", "speaker_span": {"start": 9, "end": 14}}
    gold, quote = gold_span_update(article=article, span_id=quote.pk, by=rita, fields={"speaker": None,
                                                                                       "speaker_span": None})
    assert quote.attrs == {"kind": "scare"}
    gold, relabelled = gold_span_update(article=article, span_id=moved.pk, by=rita, fields={"label": "ORG"})
    assert relabelled.label == "ORG"

    gold = gold_span_remove(article=article, span_id=relabelled.pk, by=rita)
    assert list(gold.spans.values_list("label", flat=True)) == ["QUOTE"]
    assert ann.spans.count() == 1  # the annotator's own work is never touched
    with pytest.raises(NotFound):
        gold_span_remove(article=article, span_id=relabelled.pk, by=rita)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"start": 80, "end": 200, "label": "PERSON"}, "span.end", f"200 is past the end of the text ({len(TEXT)})"),
    ({"start": 5, "end": 5, "label": "PERSON"}, "span.end", "5 must be greater than start (5)"),
    ({"start": 0, "end": 14, "label": "VILLAIN"}, "span.label", "'VILLAIN' is not a span label of this project"),
    ({"start": 0, "end": 14, "label": "PERSON"}, "span", "duplicate of a gold span (PERSON 0-14)"),
    ({"start": 20, "end": 30, "label": "QUOTE", "kind": "indirect"}, "span.attrs.kind",
     "'indirect' is not a quote kind (direct, partial, scare)"),
    ({"start": 20, "end": 30, "label": "QUOTE", "speaker_span": {"start": 0, "end": 999}},
     "span.attrs.speaker_span.end", f"999 is past the end of the text ({len(TEXT)})"),
])
def test_a_bad_span_is_refused_naming_the_field_and_nothing_is_written(project, single, rita, fields, field,
                                                                        message):
    article, ann = single
    gold_pick(article=article, annotation_id=ann.pk, by=rita)
    before = rows()
    with pytest.raises(ValidationFailed) as err:
        gold_span_add(article=article, by=rita, fields=fields)
    assert str(err.value).startswith(f"{field}: {message}")
    assert rows() == before
    assert Gold.objects.get(article=article).version == 1


def test_edit_past_the_end_names_the_span_and_writes_nothing(project, single, rita):
    article, _ = single
    before = rows()
    with pytest.raises(ValidationFailed) as err:
        gold_edit(article=article, by=rita, stance={}, frames=[], spans=[
            {"start": 0, "end": 14, "label": "PERSON"}, {"start": 80, "end": 4120, "label": "PERSON"}])
    assert str(err.value) == f"spans[1].end: 4120 is past the end of the text ({len(TEXT)})"
    assert rows() == before


def test_a_write_based_on_an_old_version_is_refused(project, single, rita):
    article, ann = single
    gold = gold_pick(article=article, annotation_id=ann.pk, by=rita, version=0)
    gold_span_add(article=article, by=rita, fields={"start": 15, "end": 19, "label": "PERSON"}, version=gold.version)
    before = rows()
    with pytest.raises(StaleWrite) as err:  # a second reviewer still looking at version 1
        gold_span_add(article=article, by=UserFactory(), fields={"start": 70, "end": 79, "label": "ORG"},
                      version=1)
    assert err.value.details["current"]["version"] == 2
    assert rows() == before
    with pytest.raises(StaleWrite):
        gold_pick(article=article, annotation_id=ann.pk, by=rita, version=0)  # "no gold yet" is stale too
    with pytest.raises(StaleWrite):
        gold_delete(article=article, by=rita, version=1)
    assert gold_delete(article=article, by=rita, version=2)


def test_every_gold_write_records_an_audit_event_with_before_and_after(project, single, rita):
    article, ann = single
    gold = gold_pick(article=article, annotation_id=ann.pk, by=rita)
    gold, span = gold_span_update(article=article, span_id=gold.spans.get().pk, by=rita, fields={"end": 8})
    gold_delete(article=article, by=rita)
    events = list(AuditEvent.objects.filter(object_type="gold").order_by("id"))
    assert [e.action for e in events] == ["gold.create", "gold.update", "gold.delete"]
    assert all(e.actor == rita and e.project_id == project.pk and e.object_id == str(gold.pk) for e in events)
    create, update, delete = events
    assert create.before is None and create.after["spans"][0]["provenance"] == {"from": "annotation",
                                                                                "annotation": ann.pk}
    assert (update.before["spans"][0]["end"], update.after["spans"][0]["end"]) == (14, 8)
    assert delete.after is None and delete.before["version"] == 2


def test_edit_keeps_provenance_of_gold_spans_and_takes_suggestions(project, single, rita):
    article, ann = single
    suggestion = SpanFactory(article=article, start=70, end=79, label="ORG", origin=Span.Origin.MODEL)
    gold = gold_pick(article=article, annotation_id=ann.pk, by=rita)
    kept = gold.spans.get()
    gold = gold_edit(article=article, by=rita, stance={"troops": ""}, frames=["Political"], spans=[
        {"id": kept.pk, "start": 0, "end": 14, "label": "PERSON"},
        {"start": 70, "end": 79, "label": "ORG", "from_span": suggestion.pk}])
    spans = {s.label: s for s in gold.spans.all()}
    assert spans["PERSON"].pk == kept.pk and spans["PERSON"].from_annotation_id == ann.pk
    assert (spans["ORG"].gold_source, spans["ORG"].suggestion_id) == (Span.GoldSource.SUGGESTION, suggestion.pk)
    assert gold.stance == {}  # "" means not set, as in annotations
    view = adjudication_article(article=article).as_dict()
    assert [s["id"] for s in view["suggestions"]] == [suggestion.pk]
    assert {s["label"]: s["provenance"]["from"] for s in view["gold"]["spans"]} == {
        "PERSON": "annotation", "ORG": "suggestion"}
    with pytest.raises(ValidationFailed) as err:
        gold_edit(article=article, by=rita, stance={}, frames=[], spans=[
            {"start": 70, "end": 79, "label": "ORG", "from_span": 10**9}])
    assert str(err.value).startswith("spans[0].from_span:")


def test_bulk_gold_writes_are_audited_too(project, rita, django_assert_max_num_queries):
    from annotate.models import Assignment
    from annotate.services.gold import gold_accept_unanimous, gold_compute_majority

    ana, ben, cid = UserFactory(), UserFactory(), UserFactory()
    same = ArticleFactory(project=project, text=TEXT)
    for user in (ana, ben):
        submit(same, user, {"troops": "FAVOR"}, spans=[(0, 14, "PERSON")])
    split = ArticleFactory(project=project, text=TEXT)
    a = submit(split, ana, {"troops": "FAVOR"})
    submit(split, ben, {"troops": "FAVOR"})
    submit(split, cid, {"troops": "AGAINST"})
    assert gold_compute_majority(project=project)["created"] == 2
    events = {e.object_id: e for e in AuditEvent.objects.filter(action="gold.create")}
    majority = Gold.objects.get(article=split)
    assert events[str(majority.pk)].actor is None and events[str(majority.pk)].after["stance"] == {"troops": "FAVOR"}

    Assignment.objects.filter(pk=a.assignment_id).update(status=Assignment.Status.IN_PROGRESS)  # a tie now
    gold_compute_majority(project=project)
    [deleted] = AuditEvent.objects.filter(action="gold.delete")
    assert (deleted.object_id, deleted.before["method"], deleted.after) == (str(majority.pk), "majority", None)

    assert gold_accept_unanimous(project=project, by=rita)["accepted"] == 1
    [update] = AuditEvent.objects.filter(action="gold.update")
    assert (update.actor, update.before["method"], update.after["method"]) == (rita, "majority", "unanimous")
    assert update.after["spans"][0]["provenance"] == {"from": "consensus"}
