"""jsonl.v1: the dataset file equals what the database holds, loads in pandas, is reproducible."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from annotate.exports.options import export_options_validate
from annotate.exports.rows import iter_rows
from annotate.models import Annotation, Assignment, Gold, Span

from .data import build_demo, run_export

pytestmark = pytest.mark.django_db

KEYS = {"id", "title", "source", "url", "published", "meta", "text", "entities", "quotes", "spans_from",
        "annotations", "gold", "suggestions", "story", "duplicate_group", "labels_from"}


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _span_key(d):
    return (d["start"], d["end"], d.get("label", "QUOTE"))


def test_round_trip_equals_database():
    demo = build_demo()
    job, path = run_export(demo.project, "jsonl", user_names=True)
    rows = _lines(path)
    # Article 3 has no submitted annotation: left out by default.
    assert [r["id"] for r in rows] == ["ex-0", "ex-1", "ex-2"]
    assert job.counts["articles"] == 3 and job.processed == 3 and job.progress == 1.0
    for row, article in zip(rows, demo.articles, strict=False):
        assert set(row) == KEYS
        assert row["text"] == article.text
        assert row["title"] == (article.title or None)
        assert row["meta"] == article.meta
        assert row["published"] == article.published.isoformat()
        # Annotations: every submitted one, with its annotator, labels and spans.
        db_anns = Annotation.objects.filter(assignment__article=article, assignment__status=Assignment.Status.SUBMITTED)
        expected = sorted(
            (a.assignment.annotator.username, json.dumps(a.stance, sort_keys=True), a.frames, a.primary_frame or None,
             sorted((s.start, s.end, s.label, article.text[s.start:s.end], json.dumps(s.attrs, sort_keys=True))
                    for s in a.spans.all()))
            for a in db_anns)
        expected = [(n, st, fr or None, pf, sp) for n, st, fr, pf, sp in expected]
        got = sorted(
            (a["annotator"], json.dumps(a["stance"], sort_keys=True), a["frames"], a["primary_frame"],
             sorted((s["start"], s["end"], s["label"], s["text"], json.dumps(s["attrs"], sort_keys=True))
                    for s in a["spans"]))
            for a in row["annotations"])
        assert got == expected
        # Gold: the Gold row, or null.
        gold = Gold.objects.filter(article=article).first()
        if gold is None:
            assert row["gold"] is None
        else:
            assert row["gold"] == {"stance": gold.stance, "frames": gold.frames, "primary_frame": gold.primary_frame,
                                   "method": gold.method}
        for span in row["entities"] + row["quotes"]:
            assert span["text"] == article.text[span["start"]:span["end"]]

    # Reference spans: gold spans for ex-1, the annotators' majority for ex-0, none for ex-2 (its
    # only annotation has no spans; the model's suggestions are not labels).
    gold_spans = Span.objects.filter(gold__article=demo.articles[1])
    assert sorted(_span_key(s) for s in rows[1]["entities"] + rows[1]["quotes"]) == sorted(
        (s.start, s.end, s.label) for s in gold_spans)
    assert rows[1]["quotes"][0]["speaker"] == "Emmanuel Macron"
    assert rows[1]["quotes"][0]["speaker_span"] == {"start": 0, "end": 15}
    assert rows[2]["entities"] == [] and rows[2]["quotes"] == []
    assert [r["spans_from"] for r in rows] == ["majority", "gold", "none"]
    assert [r["suggestions"] for r in rows] == [None, None, None]  # not asked
    # Both annotators marked PERSON and the quote; only alice marked Brussels → not a majority.
    assert [e["label"] for e in rows[0]["entities"]] == ["PERSON"]
    assert len(rows[0]["quotes"]) == 1 and rows[0]["quotes"][0]["kind"] == "direct"


def test_pandas_loads_every_row_with_the_same_columns(tmp_path):
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl", submitted_only=False)
    df = pd.read_json(path, lines=True)
    assert len(df) == 4
    assert set(df.columns) == KEYS
    assert df["gold"].isna().sum() == 3  # only ex-1 has a Gold row


def test_same_data_same_options_gives_identical_bytes():
    demo = build_demo()
    split = {"seed": 7, "train": 80, "dev": 10, "test": 10}
    job1, p1 = run_export(demo.project, "jsonl", split=split, include_suggestions=True)
    job2, p2 = run_export(demo.project, "jsonl", split=split, include_suggestions=True)
    assert p1 != p2
    assert p1.read_bytes() == p2.read_bytes()
    assert job1.sha256 == job2.sha256 and job1.size_bytes == p1.stat().st_size


def test_pseudonyms_are_stable_and_hide_user_names():
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl")
    data = path.read_text()
    for user in demo.annotators:
        assert user.username not in data
    rows = _lines(path)
    alice_ex0 = {a["annotator"] for a in rows[0]["annotations"]}
    alice_ex1 = {a["annotator"] for a in rows[1]["annotations"]}
    assert len(alice_ex0) == 2 and len(alice_ex1) == 1
    assert alice_ex1 <= alice_ex0  # alice annotated both: same pseudonym in both rows
    assert all(len(a) == 8 for a in alice_ex0)


def test_submitted_only_false_includes_drafts_and_unannotated_articles():
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl", submitted_only=False, user_names=True)
    rows = _lines(path)
    assert [r["id"] for r in rows] == ["ex-0", "ex-1", "ex-2", "ex-3"]
    carol = [a for a in rows[0]["annotations"] if a["annotator"] == "carol"]
    assert carol and carol[0]["submitted"] is False and carol[0]["submitted_at"] is None
    assert rows[3]["annotations"] == []


def test_gold_labels_export_only_gold_articles():
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl", labels="gold")
    rows = _lines(path)
    assert [r["id"] for r in rows] == ["ex-1"]
    assert rows[0]["annotations"] == [] and rows[0]["gold"]["method"] == "adjudicated"


def test_majority_labels_fill_gold_from_submitted_annotations():
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl", labels="majority")
    rows = {r["id"]: r for r in _lines(path)}
    # alice and bob agree on western-troops but not on sanctions (no strict majority → left out).
    assert rows["ex-0"]["gold"] == {"stance": {"western-troops": "AGAINST"}, "frames": ["Security and defense"],
                                    "primary_frame": "Security and defense", "method": "majority"}
    assert rows["ex-1"]["gold"]["method"] == "adjudicated"  # a Gold row wins over the majority
    assert all(r["annotations"] == [] for r in rows.values())


def test_targets_subset_and_date_range():
    demo = build_demo()
    _, path = run_export(demo.project, "jsonl", targets=["sanctions"], published_from="2025-09-02",
                         published_to="2025-09-03")
    rows = _lines(path)
    assert [r["id"] for r in rows] == ["ex-1", "ex-2"]
    assert rows[0]["gold"]["stance"] == {"sanctions": "UNRELATED"}
    assert all(set(a["stance"]) <= {"sanctions"} for r in rows for a in r["annotations"])


def test_split_is_seeded_and_stratified():
    demo = build_demo()
    from tests.factories import AnnotationFactory, ArticleFactory, AssignmentFactory

    for i in range(60):
        art = ArticleFactory(project=demo.project, external_id=f"bulk-{i:03d}")
        AnnotationFactory(assignment=AssignmentFactory(article=art, annotator=demo.annotators[0],
                                                       status=Assignment.Status.SUBMITTED),
                          stance={"western-troops": "FAVOR" if i % 3 else "NEUTRAL"})
    _, path = run_export(demo.project, "jsonl", split={"seed": 3, "train": 80, "dev": 10, "test": 10})
    rows = [r for r in _lines(path) if r["id"].startswith("bulk-")]
    by_stance: dict[str, list[str]] = {}
    for r in rows:
        by_stance.setdefault(r["annotations"][0]["stance"]["western-troops"], []).append(r["split"])
    # 40 FAVOR and 20 NEUTRAL: each stratum split 80/10/10 exactly (whole blocks of ten).
    assert sorted(by_stance["FAVOR"]).count("train") == 32 and by_stance["FAVOR"].count("dev") == 4
    assert by_stance["NEUTRAL"].count("train") == 16 and by_stance["NEUTRAL"].count("test") == 2
    _, other = run_export(demo.project, "jsonl", split={"seed": 4, "train": 80, "dev": 10, "test": 10})
    assert [r["split"] for r in _lines(other)] != [r["split"] for r in _lines(path)]


def test_rows_cost_a_fixed_number_of_queries_whatever_the_size(django_assert_max_num_queries):
    demo = build_demo()
    from tests.factories import AnnotationFactory, ArticleFactory, AssignmentFactory, SpanFactory

    for _ in range(30):
        art = ArticleFactory(project=demo.project)
        SpanFactory(article=art)
        AnnotationFactory(assignment=AssignmentFactory(article=art, annotator=demo.annotators[1],
                                                       status=Assignment.Status.SUBMITTED))
    options = export_options_validate({}, target_keys=[])
    # One chunk of 50: articles, gold, annotations, spans, then the empty next chunk; before them
    # the duplicate policy and the story snapshot (annotate.stories.export), once per export.
    with django_assert_max_num_queries(5 + 2):
        assert len(list(iter_rows(project=demo.project, options=options, chunk_size=50))) == 33
    with django_assert_max_num_queries(4 * 7 + 1 + 2):
        assert len(list(iter_rows(project=demo.project, options=options, chunk_size=5))) == 33


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prefetching_thread_gives_the_same_file_as_sequential_reads():
    from django.db import transaction

    from annotate.exports.jsonl import row_to_dict

    demo = build_demo()
    options = export_options_validate({"submitted_only": False}, target_keys=[])

    def dump():
        return [row_to_dict(r, with_split=False) for r in iter_rows(project=demo.project, options=options,
                                                                    chunk_size=1)]

    threaded = dump()  # autocommit on PostgreSQL: chunks are fetched by the helper thread
    with transaction.atomic():
        sequential = dump()
    assert threaded == sequential and len(threaded) == 4


def test_numbers_past_64_bits_in_meta_export_and_read_back():
    """PostgreSQL's jsonb stores 1e300 as a 301-digit integer, which orjson cannot write: the row
    and the article's API page must still come out whole (the value as the database keeps it)."""
    from tests.factories import api_client, member

    demo = build_demo()
    article = demo.articles[1]
    article.meta = {"views": 1e300, "id": 123456789012345678901234567890, "ok": 5}
    article.save(update_fields=["meta"])
    job, path = run_export(demo.project, "jsonl", submitted_only=False)
    rows = {r["id"]: r for r in _lines(path)}
    meta = rows[article.external_id]["meta"]
    assert meta["id"] == 123456789012345678901234567890 and float(meta["views"]) == 1e300 and meta["ok"] == 5
    assert len(rows) == 4 and job.counts["articles"] == 4
    assert rows[demo.articles[0].external_id]["meta"] == {"n": 0, "tags": ["x"]}  # the others as before
    reader = api_client(member(demo.project, "admin"))
    res = reader.get(f"/api/v1/projects/{demo.project.pk}/articles/{article.pk}/")
    assert res.status_code == 200, res.content
    assert json.loads(res.content)["meta"]["id"] == 123456789012345678901234567890
