"""issue 14 (points 1, 2, 8): every exported label says where it came from; missing is never
written as a negative; odd export requests get a clear answer.

One project, two annotators, four submitted articles:
* `adj`: the annotators disagree, a reviewer adjudicated (gold stance, frames and spans);
* `split`: the annotators disagree on stance, frames and spans, no gold (no consensus at all);
* `bare`: one annotation without spans (only the model has spans on it);
* `half`: both chose "Security and defense", only one also chose "Political".
Every article carries model suggestions, including the model's "Kyiv" as PERSON.
"""

from __future__ import annotations

import json
import zipfile

import conllu
import datasets
import pandas as pd
import pytest
import spacy
from django.utils import timezone
from spacy.tokens import DocBin
from spacy.training.converters import conll_ner_to_docs

from annotate.exports.options import DEFAULTS
from annotate.models import Assignment, ExportJob, Gold, Membership, Span
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    GoldFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
    api_client,
    member,
)

from .data import run_export

pytestmark = pytest.mark.django_db

TEXT = "Vladimir Putin warned NATO about troops in Kyiv. Officials in Berlin said nothing."
MODEL = {"origin": Span.Origin.MODEL, "model_name": "en_core_web_sm", "model_version": "3.8.0"}
SEC, POL, ECO = "Security and defense", "Political", "Economic"


def _at(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


def _annotate(article, user, *, stance, frames, spans=()):
    ann = AnnotationFactory(
        assignment=AssignmentFactory(article=article, annotator=user, status=Assignment.Status.SUBMITTED),
        stance={"western-troops": stance}, frames=frames, primary_frame=frames[0] if frames else "",
        submitted_at=timezone.now())
    for needle, label in spans:
        s, e = _at(needle)
        SpanFactory(article=article, annotation=ann, start=s, end=e, label=label, origin=Span.Origin.HUMAN)
    return ann


@pytest.fixture
def world():
    project = ProjectFactory(slug="issue14")
    TargetFactory(project=project, key="western-troops")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    arts = {key: ArticleFactory(project=project, external_id=key, text=TEXT)
            for key in ("adj", "split", "bare", "half")}
    for art in arts.values():
        for needle, label in (("Vladimir Putin", "PERSON"), ("NATO", "ORG"), ("Kyiv", "PERSON")):
            s, e = _at(needle)
            SpanFactory(article=art, start=s, end=e, label=label, **MODEL)
    _annotate(arts["adj"], alice, stance="AGAINST", frames=[SEC], spans=[("Vladimir Putin", "PERSON")])
    _annotate(arts["adj"], bob, stance="FAVOR", frames=[POL], spans=[("Vladimir Putin", "PERSON"), ("Kyiv", "GPE")])
    gold = GoldFactory(article=arts["adj"], stance={"western-troops": "AGAINST"}, frames=[SEC], primary_frame=SEC,
                       method=Gold.Method.ADJUDICATED)
    for needle, label in (("Vladimir Putin", "PERSON"), ("Kyiv", "GPE")):
        s, e = _at(needle)
        SpanFactory(article=arts["adj"], gold=gold, start=s, end=e, label=label, origin=Span.Origin.HUMAN)
    _annotate(arts["split"], alice, stance="AGAINST", frames=[ECO], spans=[("Kyiv", "GPE")])
    _annotate(arts["split"], bob, stance="FAVOR", frames=[POL], spans=[("NATO", "ORG")])
    _annotate(arts["bare"], alice, stance="NEUTRAL", frames=[ECO])
    _annotate(arts["half"], alice, stance="AGAINST", frames=[SEC, POL])
    _annotate(arts["half"], bob, stance="AGAINST", frames=[SEC])
    return project


def _jsonl(path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def _ents(row) -> list[tuple[str, str]]:
    return [(e["label"], e["text"]) for e in row["entities"]]


# --- point 1: reference spans from people only, provenance on every row -----------------------

def test_jsonl_reference_spans_are_people_only_and_every_row_says_where_they_came_from(world):
    _, path = run_export(world, "jsonl", labels="majority")
    rows = _jsonl(path)
    assert {k: r["spans_from"] for k, r in rows.items()} == {
        "adj": "gold", "split": "majority", "bare": "none", "half": "none"}
    assert _ents(rows["adj"]) == [("PERSON", "Vladimir Putin"), ("GPE", "Kyiv")]  # the gold, not the model's PERSON
    assert all(e["origin"] == "human" for r in rows.values() for e in r["entities"])
    assert rows["split"]["entities"] == [] and rows["bare"]["entities"] == []  # disagreement / nobody: none
    assert all(r["suggestions"] is None for r in rows.values())  # not asked → null, key present
    assert "en_core_web_sm" not in path.read_text()


def test_jsonl_suggestions_are_their_own_layer_only_when_asked(world):
    _, plain = run_export(world, "jsonl")
    job, path = run_export(world, "jsonl", include_suggestions=True)
    assert job.options["include_suggestions"] is True
    rows, before = _jsonl(path), _jsonl(plain)
    for key, row in rows.items():
        assert row["entities"] == before[key]["entities"] and row["spans_from"] == before[key]["spans_from"]
        assert sorted((s["label"], s["text"]) for s in row["suggestions"]) == [
            ("ORG", "NATO"), ("PERSON", "Kyiv"), ("PERSON", "Vladimir Putin")]
        assert {(s["origin"], s["model_name"], s["model_version"]) for s in row["suggestions"]} == {
            ("model", "en_core_web_sm", "3.8.0")}
    assert job.counts["suggestions"] == 12


@pytest.mark.parametrize("include_suggestions", [False, True])
def test_jsonl_loads_in_pandas_and_datasets_with_one_type_per_column(world, include_suggestions):
    _, path = run_export(world, "jsonl", include_suggestions=include_suggestions, labels="majority")
    df = pd.read_json(path, lines=True)
    assert len(df) == 4 and {"spans_from", "suggestions", "gold"} <= set(df.columns)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(path.parent / "hf"))
    assert ds.num_rows == 4
    assert sorted(ds["spans_from"]) == ["gold", "majority", "none", "none"]
    if include_suggestions:
        assert [len(s) for s in ds["suggestions"]] == [3, 3, 3, 3]
    else:
        assert ds["suggestions"] == [None] * 4


def test_conll2003_tags_are_the_people_s_spans_never_suggestions(world):
    _, plain = run_export(world, "conll2003")
    _, asked = run_export(world, "conll2003", include_suggestions=True)
    assert asked.read_bytes() == plain.read_bytes()  # the option cannot reach CoNLL-2003 tags
    docs = list(conll_ner_to_docs(plain.read_text(encoding="utf-8"), n_sents=0, no_print=True))
    assert [[(e.label_, e.text) for e in d.ents] for d in docs] == [
        [("PERSON", "Vladimir Putin"), ("GPE", "Kyiv")], [], [], []]


def _conllu_docs(path) -> dict[str, list]:
    docs: dict[str, list] = {}
    current = None
    for sent in conllu.parse(path.read_text(encoding="utf-8")):
        if "newdoc id" in sent.metadata:
            current = sent.metadata["newdoc id"]
            docs[current] = []
        docs[current].append(sent)
    return docs


def _misc(sents, key) -> list[tuple[str, str]]:
    return [(t["misc"][key], t["form"]) for s in sents for t in s if t["misc"] and key in t["misc"]]


def test_conllu_ne_is_human_and_suggestions_sit_in_their_own_misc_key(world):
    _, plain = run_export(world, "conllu")
    docs = _conllu_docs(plain)
    assert _misc(docs["adj"], "NE") == [("B-PERSON", "Vladimir"), ("I-PERSON", "Putin"), ("B-GPE", "Kyiv")]
    assert _misc(docs["bare"], "NE") == [] and _misc(docs["split"], "NE") == []
    assert "Suggestion" not in plain.read_text()
    assert [docs[k][0].metadata["spans_from"] for k in ("adj", "split", "bare")] == ["gold", "majority", "none"]
    _, asked = run_export(world, "conllu", include_suggestions=True)
    docs = _conllu_docs(asked)
    assert _misc(docs["adj"], "NE") == [("B-PERSON", "Vladimir"), ("I-PERSON", "Putin"), ("B-GPE", "Kyiv")]
    for key in docs:
        assert _misc(docs[key], "Suggestion") == [("B-PERSON", "Vladimir"), ("I-PERSON", "Putin"),
                                                  ("B-ORG", "NATO"), ("B-PERSON", "Kyiv")]
        assert docs[key][0].metadata["suggestions_from"] == "model:en_core_web_sm@3.8.0"
    assert _misc(docs["bare"], "NE") == []


def _docbin(path) -> dict[str, object]:
    """A small export is one .spacy file; a large or split one a zip of shards."""
    vocab = spacy.blank("en").vocab
    if not zipfile.is_zipfile(path):
        return {d.user_data["id"]: d for d in DocBin().from_disk(path).get_docs(vocab)}
    with zipfile.ZipFile(path) as zf:
        shards = [DocBin().from_bytes(zf.read(n)) for n in sorted(zf.namelist())]
    return {d.user_data["id"]: d for shard in shards for d in shard.get_docs(vocab)}


def test_docbin_ents_are_human_and_suggestions_are_a_separate_span_group(world):
    _, plain = run_export(world, "spacy")
    docs = _docbin(plain)
    assert [(e.label_, e.text) for e in docs["adj"].ents] == [("PERSON", "Vladimir Putin"), ("GPE", "Kyiv")]
    assert list(docs["bare"].ents) == [] and list(docs["split"].ents) == []
    assert all("suggestions" not in d.spans for d in docs.values())
    assert {k: d.user_data["spans_from"] for k, d in docs.items()} == {
        "adj": "gold", "split": "majority", "bare": "none", "half": "none"}
    _, asked = run_export(world, "spacy", include_suggestions=True)
    docs = _docbin(asked)
    adj = docs["adj"]
    assert [(e.label_, e.text) for e in adj.ents] == [("PERSON", "Vladimir Putin"), ("GPE", "Kyiv")]
    group = adj.spans["suggestions"]
    assert [(s.label_, s.text) for s in group] == [("PERSON", "Vladimir Putin"), ("ORG", "NATO"), ("PERSON", "Kyiv")]
    assert group.attrs["origin"] == ["model"] * 3 and group.attrs["model_name"] == ["en_core_web_sm"] * 3
    assert list(docs["bare"].ents) == []


# --- point 2: missing is not negative ---------------------------------------------------------

def test_docbin_cats_leave_undecided_labels_out_instead_of_zero(world):
    docs = _docbin(run_export(world, "spacy")[1])
    frames = world.frames
    adj = docs["adj"].cats  # adjudicated: every frame decided, stance one-hot
    assert {k: v for k, v in adj.items() if k.startswith("frame.")} == {
        f"frame.{f}": 1.0 if f == SEC else 0.0 for f in frames}
    assert adj["stance.western-troops.AGAINST"] == 1.0 and adj["stance.western-troops.FAVOR"] == 0.0
    assert docs["split"].cats == {}  # no consensus on anything: nothing, not 0.0 everywhere
    bare = docs["bare"].cats  # one annotator: their choice is the majority
    assert bare["frame.Economic"] == 1.0 and bare["frame.Political"] == 0.0
    half = docs["half"].cats  # Security by both (1.0), Political by one of two (missing), rest 0.0 by both
    assert half[f"frame.{SEC}"] == 1.0 and f"frame.{POL}" not in half and half["frame.Morality"] == 0.0
    assert len([k for k in half if k.startswith("frame.")]) == len(frames) - 1


def test_jsonl_and_conllu_write_no_consensus_as_missing(world):
    rows = _jsonl(run_export(world, "jsonl", labels="majority")[1])
    assert rows["split"]["gold"] == {"stance": {}, "frames": None, "primary_frame": None, "method": "majority"}
    assert rows["half"]["gold"]["frames"] == [SEC]
    assert rows["adj"]["gold"]["frames"] == [SEC] and rows["adj"]["gold"]["method"] == "adjudicated"
    docs = _conllu_docs(run_export(world, "conllu")[1])
    split = docs["split"][0].metadata
    assert not any(k.startswith("stance.") or k in ("frames", "primary_frame") for k in split)
    assert docs["adj"][0].metadata["frames"] == SEC and docs["adj"][0].metadata["stance.western-troops"] == "AGAINST"


# --- point 8: odd requests --------------------------------------------------------------------

def test_the_job_records_every_option_it_used_including_defaults(world):
    job, _ = run_export(world, "jsonl")
    assert job.options == DEFAULTS and "include_suggestions" in job.options
    job, _ = run_export(world, "jsonl", split={"train": 80, "dev": 10, "test": 10})
    assert job.options["split"] == {"seed": 0, "train": 80, "dev": 10, "test": 10, "group_by": None}


def test_an_export_that_selects_nothing_is_refused_naming_the_filters(world):
    client = api_client(member(world, Membership.Role.EXPORTER))
    url = f"/api/v1/projects/{world.pk}/exports/"
    resp = client.post(url, {"format": "jsonl", "options": {"published_from": "2031-01-01"}}, format="json")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "empty_selection" and "published_from=2031-01-01" in error["message"]
    assert error["details"]["filters"]["published_from"] == "2031-01-01" and error["details"]["project_articles"] == 4
    empty = ProjectFactory()
    resp = api_client(member(empty, Membership.Role.EXPORTER)).post(
        f"/api/v1/projects/{empty.pk}/exports/", {"format": "conllu"}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "empty_selection"
    assert ExportJob.objects.count() == 0


@pytest.mark.parametrize("split", [{"seed": 3, "train": 80}, {"train": 80, "dev": 10, "test": 5},
                                   {"train": 120, "dev": -10, "test": -10}])
def test_a_split_must_name_train_dev_and_test_summing_to_100(world, split):
    client = api_client(member(world, Membership.Role.EXPORTER))
    resp = client.post(f"/api/v1/projects/{world.pk}/exports/", {"format": "jsonl", "options": {"split": split}},
                       format="json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid"
    assert any(k.startswith("split") for k in resp.json()["error"]["details"])
    assert ExportJob.objects.count() == 0


def test_a_gold_row_without_frames_decides_no_frame(world):
    article = ArticleFactory(project=world, external_id="nof", text=TEXT)
    GoldFactory(article=article, stance={"western-troops": "NEUTRAL"}, frames=[], method=Gold.Method.ADJUDICATED)
    row = _jsonl(run_export(world, "jsonl")[1])["nof"]
    assert row["gold"]["frames"] is None and row["spans_from"] == "none"
    cats = _docbin(run_export(world, "spacy")[1])["nof"].cats
    assert cats["stance.western-troops.NEUTRAL"] == 1.0 and not any(k.startswith("frame.") for k in cats)


def test_quote_and_speaker_suggestions_get_their_own_conllu_keys(world):
    text = "Putin said “We will respond” on Monday."
    article = ArticleFactory(project=world, external_id="quote", text=text)
    _annotate(article, UserFactory(username="carol"), stance="AGAINST", frames=[SEC])
    qs, qe = text.index("“"), text.index("”") + 1
    SpanFactory(article=article, start=qs, end=qe, label="QUOTE", attrs={
        "kind": "direct", "speaker": "Putin", "speaker_span": {"start": 0, "end": 5}}, **MODEL)
    sents = _conllu_docs(run_export(world, "conllu", include_suggestions=True)[1])["quote"]
    assert _misc(sents, "SuggestedSpeaker") == [("B-SPEAKER", "Putin")]
    assert [v for v, _ in _misc(sents, "SuggestedQuote")][0] == "B-direct"
    assert _misc(sents, "Quote") == [] and _misc(sents, "NE") == []


def test_the_export_command_passes_include_suggestions(world, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "d.jsonl"
    call_command("export", "--project", "issue14", "--format", "jsonl", "--out", str(out), "--include-suggestions")
    assert ExportJob.objects.get().options["include_suggestions"] is True
    assert all(isinstance(r["suggestions"], list) for r in _jsonl(out).values())
