"""The JSONL export's fast paths give the bytes of the general ones.

Rows are read without Django's converters on PostgreSQL (`rows._values`), majorities take a
shortcut when the annotators agree, and the writer builds its dicts in one pass. Each is checked
against the general code (the ORM's values, counting every vote, the writer's documented dict)
on data where they could part: partial and repeated spans, disagreements, gold with and without
spans, emoji and combining marks, labels whose order differs between byte and code-point order,
JSON with integers beyond 64 bits.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import datetime

import pytest
from django.utils import timezone

from annotate.exports import jsonl, rows
from annotate.exports.base import QUOTE_LABEL, AnnotationOut, SpanOut
from annotate.models import Annotation, Article, Assignment, Gold, Span
from annotate.stories.export import document_metadata
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    GoldFactory,
    SpanFactory,
    UserFactory,
)

from .data import build_demo, run_export

LABELS = ["PERSON", "ORG", "GPE", QUOTE_LABEL, "Ärger", "émoji🙂", "Z"]


def _reference_majority_label(labels):
    given = [label for label in labels if label]
    if not given:
        return None
    label, count = Counter(given).most_common(1)[0]
    return label if count * 2 > len(given) else None


def test_majority_label_agrees_with_counting_on_every_small_vote():
    from annotate.consensus import majority_label

    for n in range(5):
        for votes in itertools.product([None, "", "FAVOR", "AGAINST", "NEUTRAL"], repeat=n):
            assert majority_label(iter(votes)) == _reference_majority_label(votes), votes


def _ann(spans, frames=()):
    return AnnotationOut(annotator="x", stance={}, frames=list(frames), primary_frame=None, notes="",
                         spans=spans, submitted=True, submitted_at=None)


def test_majority_spans_and_frames_agree_with_counting():
    rng = random.Random(18)
    pool = [(s, s + length, label) for s in range(0, 12, 3) for length in (2, 5) for label in LABELS]
    frames = ["Economic", "Political", "Security and defense", "Ärger"]
    checked_fast = 0
    for _ in range(3000):
        base = rng.sample(pool, rng.randint(0, 6))
        if rng.random() < 0.7:
            base.sort(key=lambda k: (k[0], k[1], k[2].encode()))  # the database's order (C collation)
        anns = []
        for _ in range(rng.randint(1, 4)):
            keys = list(base) if rng.random() < 0.6 else rng.sample(pool, rng.randint(0, 6))
            if keys and rng.random() < 0.1:
                keys.append(keys[-1])  # the same span twice in one annotation
            picked = rng.sample(frames, rng.randint(0, 3)) if rng.random() < 0.4 else frames[:2]
            anns.append(_ann([SpanOut(s, e, label, {"n": rng.random()}, "human") for s, e, label in keys], picked))
        if not any(a.spans for a in anns):
            continue
        got = rows._majority_spans(anns)
        want = rows._majority_spans_counted(anns)
        # The same span objects (the first annotation's, whose attrs are written), in the same order.
        assert [id(s) for s in got] == [id(s) for s in want]
        assert rows._frame_decision(anns) == rows._frames_counted([a.frames for a in anns if a.frames])
        checked_fast += all([(s.start, s.end, s.label) for s in a.spans] == [(s.start, s.end, s.label)
                                                                          for s in anns[0].spans] for a in anns)
    assert checked_fast > 300  # the shortcut was taken often, not only the general path


def _reference_row_to_dict(row, *, with_split):
    """The writer's documented dict, one comprehension per field (the code before the one-pass writer)."""
    text = row.text

    def quote(s):
        sp = s.attrs.get("speaker_span")
        speaker_span = ({"start": int(sp["start"]), "end": int(sp["end"])}
                        if isinstance(sp, dict) and "start" in sp and "end" in sp else None)
        return {"start": s.start, "end": s.end, "text": text[s.start:s.end], "kind": s.attrs.get("kind"),
                "speaker": s.attrs.get("speaker"), "speaker_span": speaker_span, "origin": s.origin}

    out = {
        "id": row.id, "title": row.title, "source": row.source, "url": row.url,
        "published": row.published.isoformat() if row.published is not None else None,
        "meta": row.meta, "text": text,
        "entities": [{"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                      "origin": s.origin} for s in row.entities],
        "quotes": [quote(s) for s in row.quotes],
        "spans_from": row.spans_from,
        "suggestions": None if row.suggestions is None else [
            {"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end], "origin": s.origin,
             "model_name": s.model_name, "model_version": s.model_version, "attrs": s.attrs}
            for s in row.suggestions],
        "annotations": [
            {"annotator": a.annotator, "stance": a.stance, "frames": a.frames or None, "primary_frame": a.primary_frame,
             "notes": a.notes, "spans": [{"start": s.start, "end": s.end, "label": s.label, "text": text[s.start:s.end],
                                          "origin": s.origin, "attrs": s.attrs} for s in a.spans],
             "submitted": a.submitted, "submitted_at": a.submitted_at.isoformat() if a.submitted_at else None,
             "suggestions_shown": a.suggestions_shown, "suggestion_model_version": a.suggestion_model_version}
            for a in row.annotations],
        "gold": row.gold,
    }
    if row.predictions_asked:
        out["predictions"] = row.predictions
    out.update(document_metadata(row))
    if with_split:
        out["split"] = row.split
    return out


def _varied_project():
    demo = build_demo()
    project, (a1, a2, a3) = demo.project, demo.annotators
    a4 = UserFactory(username="dora")
    text = "🇺🇦 Zoë said “ça va,” e\u0301tait NATO’s 🙂 Kyiv Ärger Brussels. " * 3
    meta = {"id": 9223372036854775807, "f": 0.1, "g": 1.5e-7, "u": "ü🙂", "nested": {"b": [1, None, True], "a": "x"}}
    art = ArticleFactory(project=project, external_id="", text=text, title="Émoji 🙂", meta=meta, url="https://x.test/ü")
    votes = [(a1, {"western-troops": "FAVOR"}, ["Political", "Economic"], "Political"),
             (a2, {"western-troops": "AGAINST", "sanctions": "FAVOR"}, ["Economic"], "Economic"),
             (a3, {"western-troops": "FAVOR"}, [], ""),
             (a4, {}, ["Economic", "Political"], "Political")]
    keys = [(3, 7, "PERSON"), (3, 7, "Ärger"), (3, 7, "Z"), (13, 21, QUOTE_LABEL), (40, 44, "GPE"), (40, 48, "GPE")]
    for i, (user, stance, frames, primary) in enumerate(votes):
        ann = AnnotationFactory(assignment=AssignmentFactory(article=art, annotator=user,
                                                             status=Assignment.Status.SUBMITTED),
                                stance=stance, frames=frames, primary_frame=primary, submitted_at=timezone.now())
        for k, (s, e, label) in enumerate(keys):
            if (i + k) % 3 != 0:
                attrs = {"kind": "direct", "speaker": "Zoë", "speaker_span": {"start": 3, "end": 7}} \
                    if label == QUOTE_LABEL else {"i": i}
                SpanFactory(article=art, annotation=ann, start=s, end=e, label=label, origin="human", attrs=attrs)
    SpanFactory(article=art, start=40, end=44, label="GPE", origin=Span.Origin.MODEL, attrs={"score": 0.5})
    # Agreeing annotators (the shortcuts); a gold row without spans or frames.
    same = ArticleFactory(project=project, external_id="same", text=text, meta={})
    for user in (a1, a2):
        ann = AnnotationFactory(assignment=AssignmentFactory(article=same, annotator=user,
                                                             status=Assignment.Status.SUBMITTED),
                                stance={"sanctions": "AGAINST"}, frames=["Economic"], submitted_at=timezone.now())
        for s, e, label in keys:
            SpanFactory(article=same, annotation=ann, start=s, end=e, label=label, origin="human")
    gold_art = ArticleFactory(project=project, external_id="gold-no-spans", text=text, meta={"k": [1, 2]})
    GoldFactory(article=gold_art, stance={"sanctions": "FAVOR"}, frames=[], primary_frame="", method=Gold.Method.MAJORITY)
    AnnotationFactory(assignment=AssignmentFactory(article=gold_art, annotator=a1, status=Assignment.Status.SUBMITTED),
                      stance={"sanctions": "AGAINST"}, frames=["Economic"], submitted_at=timezone.now())
    return project


OPTION_SETS = [{}, {"labels": "majority"}, {"labels": "gold"}, {"submitted_only": False, "include_suggestions": True},
               {"split": {"seed": 3, "train": 80, "dev": 10, "test": 10}}]


@pytest.mark.django_db
@pytest.mark.parametrize("options", OPTION_SETS)
def test_jsonl_bytes_equal_the_general_paths(options, monkeypatch):
    project = _varied_project()
    _, path = run_export(project, "jsonl", **options)
    fast = path.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(rows, "_values", lambda qs, json_columns=(), time_columns=(): list(qs))
        m.setattr(rows, "_majority_spans", rows._majority_spans_counted)
        m.setattr(rows, "_frame_decision", lambda anns: rows._frames_counted([a.frames for a in anns if a.frames]))
        m.setattr(rows, "majority_label", _reference_majority_label)
        m.setattr(jsonl, "row_to_dict", _reference_row_to_dict)
        _, path = run_export(project, "jsonl", **options)
        general = path.read_bytes()
    assert fast == general and len(fast.splitlines()) >= 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_rows_read_without_converters_equal_the_orms():
    project = _varied_project()
    ids = list(Article.objects.filter(project=project).values_list("id", flat=True))
    querysets = [
        (Article.objects.filter(project=project).order_by("id").values_list(*rows.ARTICLE_FIELDS), rows.ARTICLE_JSON,
         rows.ARTICLE_TIME),
        (Gold.objects.filter(article_id__in=ids).order_by("id").values_list(*rows.GOLD_FIELDS), rows.GOLD_JSON, ()),
        (Annotation.objects.filter(assignment__article_id__in=ids).order_by("id").values_list(*rows.ANNOTATION_FIELDS),
         rows.ANNOTATION_JSON, rows.ANNOTATION_TIME),
    ]
    # Integers beyond 64 bits (no JSONL writer can write them, but they must not turn into floats).
    ArticleFactory(project=project, meta={"tweet": 123456789012345678901234567890, "neg": -9223372036854775809})
    Article.objects.filter(pk=ids[0]).update(published=None)
    for qs, json_columns, time_columns in querysets:
        raw, orm = rows._values(qs, json_columns, time_columns), list(qs)
        assert raw == orm and raw
        # The same values of the same types, to the time zone object (== on datetimes ignores it).
        assert [[type(v) for v in row] for row in raw] == [[type(v) for v in row] for row in orm]
        assert [[v.tzinfo for v in row if isinstance(v, datetime)] for row in raw] == \
            [[v.tzinfo for v in row if isinstance(v, datetime)] for row in orm]
    metas = [row[6] for row in rows._values(querysets[0][0], rows.ARTICLE_JSON)]
    assert {"tweet": 123456789012345678901234567890, "neg": -9223372036854775809} in metas
