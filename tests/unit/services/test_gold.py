"""Adjudication into gold: pick, merge, edit, bulk unanimous, majority (annotate/services/gold.py)."""

from __future__ import annotations

import pytest

from annotate.errors import ValidationFailed
from annotate.models import Assignment, Gold, Span
from annotate.selectors.adjudication import adjudication_article, adjudication_queue
from annotate.services.gold import (
    gold_accept_unanimous,
    gold_compute_majority,
    gold_delete,
    gold_edit,
    gold_merge,
    gold_pick,
)
from tests.factories import ArticleFactory, ProjectFactory, TargetFactory, UserFactory
from tests.unit.agreement.builders import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    p = ProjectFactory(overlap=2)
    TargetFactory(project=p, key="troops", position=0)
    TargetFactory(project=p, key="sanctions", position=1)
    return p


@pytest.fixture
def people():
    return UserFactory(username="ana"), UserFactory(username="ben"), UserFactory(username="rita")


@pytest.fixture
def disputed(project, people):
    ana, ben, _ = people
    article = ArticleFactory(project=project)
    a = submit(article, ana, {"troops": "FAVOR", "sanctions": "AGAINST"}, frames=["Economic"], primary="Economic",
               spans=[(0, 14, "PERSON"), (20, 30, "QUOTE", {"kind": "direct"})])
    b = submit(article, ben, {"troops": "AGAINST", "sanctions": "AGAINST"}, frames=["Political"],
               primary="Political", spans=[(0, 14, "PERSON")])
    return article, a, b


def test_pick_copies_one_annotation_with_who_and_when(disputed, people):
    article, a, _ = disputed
    gold = gold_pick(article=article, annotation_id=a.pk, by=people[2], notes="Ana read the quote right")
    assert (gold.method, gold.decided_by, gold.stance) == (
        Gold.Method.ADJUDICATED, people[2], {"troops": "FAVOR", "sanctions": "AGAINST"})
    assert gold.decided_at is not None and gold.notes == "Ana read the quote right"
    spans = list(gold.spans.values_list("start", "end", "label", "attrs"))
    assert spans == [(0, 14, "PERSON", {}), (20, 30, "QUOTE", {"kind": "direct"})]
    # The annotation's own spans stay where they were: gold owns copies.
    assert a.spans.count() == 2


def test_pick_refuses_an_annotation_of_another_article_or_a_draft(disputed, project, people):
    article, _, _ = disputed
    other = submit(ArticleFactory(project=project), people[0], {"troops": "FAVOR"})
    with pytest.raises(ValidationFailed):
        gold_pick(article=article, annotation_id=other.pk, by=people[2])
    draft = submit(article, people[2], {"troops": "FAVOR"}, status=Assignment.Status.IN_PROGRESS)
    with pytest.raises(ValidationFailed):
        gold_pick(article=article, annotation_id=draft.pk, by=people[2])
    assert not Gold.objects.filter(article=article).exists()


def test_merge_takes_each_part_from_the_chosen_annotation(disputed, people):
    article, a, b = disputed
    quote = a.spans.get(label="QUOTE")
    person = b.spans.get(label="PERSON")
    gold = gold_merge(article=article, by=people[2], stance_from={"troops": b.pk}, frames_from=a.pk,
                      span_ids=[person.pk, quote.pk])
    assert gold.stance == {"troops": "AGAINST", "sanctions": "AGAINST"}  # sanctions: both agree (majority)
    assert (gold.frames, gold.primary_frame) == (["Economic"], "Economic")
    assert sorted(gold.spans.values_list("label", flat=True)) == ["PERSON", "QUOTE"]


def test_merge_refuses_spans_from_elsewhere(disputed, project, people):
    article, _, _ = disputed
    suggestion = Span.objects.create(article=article, start=0, end=3, label="PERSON", origin=Span.Origin.MODEL)
    with pytest.raises(ValidationFailed):
        gold_merge(article=article, by=people[2], span_ids=[suggestion.pk])


def test_edit_validates_against_schema_and_text(disputed, people):
    article, _, _ = disputed
    with pytest.raises(ValidationFailed) as err:
        gold_edit(article=article, by=people[2], stance={"troops": "MAYBE", "nope": "FAVOR"},
                  frames=["Economic", "Not a frame"], primary_frame="Political",
                  spans=[{"start": 5, "end": 5000, "label": "PERSON"}, {"start": 0, "end": 3, "label": "X"}])
    details = err.value.details
    assert set(details) >= {"stance.troops", "stance.nope", "frames[1]", "primary_frame", "spans[0].end",
                            "spans[1].label"}
    assert "past the end of the text" in details["spans[0].end"][0]
    gold = gold_edit(article=article, by=people[2], stance={"troops": "NEUTRAL"}, frames=["Morality"],
                     primary_frame="Morality", spans=[{"start": 0, "end": 8, "label": "PERSON"}])
    assert gold.stance == {"troops": "NEUTRAL"}
    assert list(gold.spans.values_list("origin", flat=True)) == [Span.Origin.HUMAN]


def test_a_new_decision_replaces_the_old_one_and_its_spans(disputed, people):
    article, a, b = disputed
    gold_pick(article=article, annotation_id=a.pk, by=people[2])
    gold = gold_pick(article=article, annotation_id=b.pk, by=people[0])
    assert Gold.objects.filter(article=article).count() == 1
    assert gold.decided_by == people[0]
    assert list(Span.objects.filter(gold__article=article).values_list("label", flat=True)) == ["PERSON"]


def test_bulk_accept_takes_only_complete_unanimous_articles(project, people, disputed):
    ana, ben, rita = people
    same = ArticleFactory(project=project)
    for user in (ana, ben):
        submit(same, user, {"troops": "FAVOR"}, frames=["Economic"], primary="Economic", spans=[(0, 5, "PERSON")])
    half = ArticleFactory(project=project)  # only one of two annotators so far
    submit(half, ana, {"troops": "FAVOR"})
    result = gold_accept_unanimous(project=project, by=rita)
    assert result == {"accepted": 1, "not_unanimous": 1, "article_ids": [same.pk]}
    gold = Gold.objects.get(article=same)
    assert (gold.method, gold.decided_by, gold.stance) == (Gold.Method.UNANIMOUS, rita, {"troops": "FAVOR"})
    assert gold.spans.count() == 1
    assert not Gold.objects.filter(article__in=[disputed[0], half]).exists()
    # Running it again changes nothing.
    assert gold_accept_unanimous(project=project, by=rita)["accepted"] == 0


def test_majority_gold_never_overrides_a_reviewer_and_is_idempotent(project, people, disputed):
    ana, ben, rita = people
    carol = UserFactory()
    three = ArticleFactory(project=project)
    submit(three, ana, {"troops": "FAVOR"}, frames=["Economic"], spans=[(0, 5, "PERSON")])
    submit(three, ben, {"troops": "FAVOR"}, frames=["Economic", "Political"], spans=[(0, 5, "PERSON")])
    submit(three, carol, {"troops": "AGAINST"}, frames=["Political"])
    decided, a, _ = disputed
    gold_pick(article=decided, annotation_id=a.pk, by=rita)

    counts = gold_compute_majority(project=project)
    assert counts["created"] == 1
    gold = Gold.objects.get(article=three)
    assert (gold.method, gold.decided_by) == (Gold.Method.MAJORITY, None)
    assert gold.stance == {"troops": "FAVOR"}
    assert gold.frames == ["Economic", "Political"]  # 2 of 3 each
    assert list(gold.spans.values_list("start", "end", "label")) == [(0, 5, "PERSON")]
    assert Gold.objects.get(article=decided).method == Gold.Method.ADJUDICATED

    assert gold_compute_majority(project=project) == {
        "created": 0, "updated": 0, "unchanged": 1, "removed": 0, "no_majority": 0}


def test_majority_gold_is_removed_when_the_article_no_longer_qualifies(project, people):
    ana, ben, _ = people
    article = ArticleFactory(project=project)
    submit(article, ana, {"troops": "FAVOR"})
    b = submit(article, ben, {"troops": "FAVOR"})
    gold_compute_majority(project=project)
    assert Gold.objects.filter(article=article).exists()
    Assignment.objects.filter(pk=b.assignment_id).update(status=Assignment.Status.IN_PROGRESS)  # reopened
    assert gold_compute_majority(project=project)["removed"] == 1
    assert not Gold.objects.filter(article=article).exists()


def test_queue_states_and_side_by_side(project, people, disputed):
    ana, ben, rita = people
    article, a, b = disputed
    same = ArticleFactory(project=project)
    for user in (ana, ben):
        submit(same, user, {"troops": "FAVOR"})
    [item] = adjudication_queue(project=project, state="open")
    assert item.article_id == article.pk
    assert item.disagreements == ["stance:troops", "frames", "primary_frame", "spans"]
    assert [u["username"] for u in item.annotators] == ["ana", "ben"]
    assert [i.article_id for i in adjudication_queue(project=project, state="unanimous")] == [same.pk]

    view = adjudication_article(article=article).as_dict()
    assert [x["annotator"]["username"] for x in view["annotations"]] == ["ana", "ben"]
    assert view["comparison"]["stance"]["troops"] == {"agree": False, "labels": {a.pk: "FAVOR", b.pk: "AGAINST"}}
    assert view["comparison"]["stance"]["sanctions"]["agree"] is True
    assert view["majority"]["stance"] == {"sanctions": "AGAINST"}  # troops is a tie
    person = next(s for s in view["comparison"]["spans"] if s["label"] == "PERSON")
    assert person["all_agree"] is True and person["text"] == article.text[0:14]

    gold_pick(article=article, annotation_id=b.pk, by=rita)
    assert adjudication_queue(project=project, state="open") == []
    [decided] = adjudication_queue(project=project, state="decided")
    assert decided.gold["decided_by"] == "rita"
    assert adjudication_article(article=article).as_dict()["gold"]["stance"]["troops"] == "AGAINST"

    gold_delete(article=article)
    assert [i.article_id for i in adjudication_queue(project=project, state="open")] == [article.pk]


def test_bulk_writes_never_replace_a_decision_made_after_candidates_were_chosen(disputed, people):
    # The race: majority picked its candidates, then a reviewer's decision committed before the
    # batch took its locks. The bulk writer re-reads gold under the lock and leaves it alone.
    from annotate.services.gold import _gold_write_many

    article, a, _ = disputed
    gold_pick(article=article, annotation_id=a.pk, by=people[2])
    _gold_write_many([(article.pk, {"stance": {"troops": "AGAINST"}, "frames": [], "primary_frame": "",
                                    "spans": []})], method=Gold.Method.MAJORITY, by=None)
    gold = Gold.objects.get(article=article)
    assert (gold.method, gold.stance["troops"], gold.spans.count()) == (Gold.Method.ADJUDICATED, "FAVOR", 2)
