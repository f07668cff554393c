"""CoNLL-2003, CoNLL-U and DocBin load in their readers with the exported labels."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import conllu
import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training.converters import conll_ner_to_docs

from annotate.exports.base import QUOTE_LABEL, SPEAKER_LABEL

from .data import build_demo, run_export

pytestmark = pytest.mark.django_db


def _reference(project):
    """Expected per-article reference spans, from the JSONL export (itself checked against the DB)."""
    _, path = run_export(project, "jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_conll2003_converts_with_spacy_one_doc_per_article_with_every_entity():
    demo = build_demo()
    job, path = run_export(demo.project, "conll2003")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("-DOCSTART- -X- O O\n\n")
    assert all(len(line.split(" ")) == 4 for line in text.splitlines() if line)
    docs = list(conll_ner_to_docs(text, n_sents=0, no_print=True))
    reference = _reference(demo.project)
    assert len(docs) == len(reference) == job.counts["articles"]
    n_ents = sum(len(d.ents) for d in docs)
    assert n_ents == job.counts["entities_exported"] == sum(
        1 for r in reference for e in r["entities"] if e["label"] not in (QUOTE_LABEL, SPEAKER_LABEL))
    # Same entity text as the JSONL (expanded to whole tokens where the span was not).
    for doc, row in list(zip(docs, reference, strict=True))[1:]:
        assert [(e.label_, e.text) for e in doc.ents] == [(e["label"], e["text"]) for e in row["entities"]]
    # ex-0's majority span "ladimir Putin" is not on token boundaries: expanded, and counted.
    assert reference[0]["entities"][0]["text"] == "ladimir Putin"
    assert [e.text for e in docs[0].ents] == ["Vladimir Putin"]
    assert job.counts["spans_expanded"] == 1
    assert docs[0][1].tag_ == "NNP"


def test_conll2003_quote_layer_tags_quotes_and_speakers():
    demo = build_demo()
    job, path = run_export(demo.project, "conll2003", span_layer="quotes")
    docs = list(conll_ner_to_docs(path.read_text(), n_sents=0, no_print=True))
    labels = [(e.label_, e.text) for e in docs[1].ents]
    assert labels == [("SPEAKER", "Emmanuel Macron"), ("QUOTE", "“ We will not be intimidated , ”")]
    assert job.counts["quotes_exported"] == sum(len(d.ents) for d in docs)


def test_conll2003_file_converts_with_the_spacy_cli(tmp_path):
    demo = build_demo()
    job, path = run_export(demo.project, "conll2003")
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, "-m", "spacy", "convert", str(path), str(out), "-c", "ner"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    docs = list(DocBin().from_disk(next(out.glob("*.spacy"))).get_docs(spacy.blank("en").vocab))
    assert len(docs) == job.counts["articles"]
    assert sum(len(d.ents) for d in docs) == job.counts["entities_exported"]


def test_conllu_parses_with_the_same_labels():
    demo = build_demo()
    job, path = run_export(demo.project, "conllu")
    sentences = conllu.parse(path.read_text(encoding="utf-8"))
    docs = [s.metadata for s in sentences if "newdoc id" in s.metadata]
    assert [d["newdoc id"] for d in docs] == ["ex-0", "ex-1", "ex-2"]
    assert docs[1]["stance.western-troops"] == "FAVOR" and docs[1]["stance.sanctions"] == "UNRELATED"
    assert docs[1]["frames"] == "Political" and docs[1]["labels_from"] == "adjudicated"
    assert docs[0]["stance.western-troops"] == "AGAINST" and "stance.sanctions" not in docs[0]
    ne_starts = [t["misc"]["NE"] for s in sentences for t in s if t["misc"] and t["misc"].get("NE", "").startswith("B-")]
    assert len(ne_starts) == job.counts["entities_exported"]
    quotes = [t["misc"]["Quote"] for s in sentences for t in s if t["misc"] and "Quote" in t["misc"]]
    assert quotes.count("B-direct") == job.counts["quotes_exported"] == 2
    # SpaceAfter=No reproduces the text of each sentence.
    for s in sentences:
        rebuilt = "".join(t["form"] + ("" if t["misc"] and t["misc"].get("SpaceAfter") == "No" else " ") for t in s)
        assert rebuilt.strip() == s.metadata["text"]


def test_docbin_loads_and_its_ents_match_the_reference_spans():
    demo = build_demo()
    job, path = run_export(demo.project, "spacy")
    reference = {r["id"]: r for r in _reference(demo.project)}
    # A small export is one DocBin file that spaCy opens as it is (issue 18 point 5).
    assert job.file_name.endswith(".spacy") and not zipfile.is_zipfile(path)
    vocab = spacy.blank("en").vocab
    docs = list(DocBin().from_disk(path).get_docs(vocab))
    assert len(docs) == 3
    for doc in docs:
        row = reference[doc.user_data["id"]]
        assert doc.text == row["text"]  # our own Docs: real spacing, not CoNLL's
        expected = [(e["label"], e["text"]) for e in row["entities"]]
        if row["id"] == "ex-0":
            expected = [("PERSON", "Vladimir Putin")]  # "ladimir Putin" expanded to whole tokens
        assert [(e.label_, e.text) for e in doc.ents] == expected
    ex1 = next(d for d in docs if d.user_data["id"] == "ex-1")
    assert ex1.cats["stance.western-troops.FAVOR"] == 1.0 and ex1.cats["stance.western-troops.AGAINST"] == 0.0
    assert ex1.cats["frame.Political"] == 1.0
    assert [s.text for s in ex1.spans["quotes"] if s.label_ == "QUOTE"] == ["“We will not be intimidated,”"]
    assert sum(len(d.ents) for d in docs) == job.counts["entities_exported"]


def test_docbin_from_disk_after_unzipping(tmp_path):
    demo = build_demo()
    _, path = run_export(demo.project, "spacy", split={"seed": 1, "train": 50, "dev": 50, "test": 0})
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path)
    total = 0
    for shard in sorted(tmp_path.rglob("*.spacy")):
        assert shard.parent.name in {"train", "dev"}
        total += len(list(DocBin().from_disk(shard).get_docs(spacy.blank("en").vocab)))
    assert total == 3


def test_conll_with_split_is_a_zip_of_three_files():
    demo = build_demo()
    job, path = run_export(demo.project, "conll2003", split={"seed": 5, "train": 80, "dev": 10, "test": 10})
    assert job.file_name.endswith(".conll.zip")
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["train.conll", "dev.conll", "test.conll"]
        text = "".join(zf.read(n).decode() for n in zf.namelist())
    assert text.count("-DOCSTART- -X- O O") == 3
    _, again = run_export(demo.project, "conll2003", split={"seed": 5, "train": 80, "dev": 10, "test": 10})
    assert again.read_bytes() == path.read_bytes()
    assert len(path.read_bytes()) == job.size_bytes


def test_without_the_trained_pipeline_exports_fall_back_to_a_blank_tokenizer(settings):
    from annotate.exports.tokens import export_pipeline

    settings.SPACY_MODEL = "no_such_pipeline_installed"
    export_pipeline.cache_clear()
    try:
        demo = build_demo()
        job, path = run_export(demo.project, "conll2003")
    finally:
        export_pipeline.cache_clear()
    assert job.nlp_pipeline == "blank_en/tokens.v1"
    docs = list(conll_ner_to_docs(path.read_text(), n_sents=0, no_print=True))
    assert len(docs) == 3 and sum(len(d.ents) for d in docs) == job.counts["entities_exported"]
    assert {line.split(" ")[1] for line in path.read_text().splitlines() if line and "DOCSTART" not in line} == {"_"}
