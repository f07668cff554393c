"""The token layer's POS and morphology without a parse: the attribute ruler's rules applied on
numpy columns (`_ArrayRuler`, what pre-annotation uses) give exactly what the ruler itself gives
on a fresh Doc of the same words and tags (what the export pipeline computes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacy.pipeline import AttributeRuler
from spacy.tokens import Doc

from annotate.nlp.loading import get_pipeline
from annotate.nlp.token_layer import _array_ruler, layer_from_doc, unparsed_attributes

ROOT = Path(__file__).resolve().parents[3]
EDGE_TEXTS = [
    "It is what it is. I told you: it's all there, but you and I had none. Which did he do? All of it.",
    "There were some. There's   none.\t\tI'd've done it, wouldn't I? Don't.\r\nYou'll see 🇺🇦 👨‍👩‍👧 e\u0301.",
    "a",
    "  \n\n  ",
]


def _texts() -> list[str]:
    texts = []
    for path in (ROOT / "annotate/demo_data/seed_articles.jsonl", ROOT / "tests/fixtures/wikinews/articles.jsonl"):
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts + EDGE_TEXTS


def _by_ruler(layer, nlp) -> tuple[list[str], list[str]]:
    fresh = nlp.get_pipe("attribute_ruler")(Doc(nlp.vocab, words=layer.forms, spaces=layer.spaces,
                                                tags=layer.tags if any(layer.tags) else None))
    return [t.pos_ for t in fresh], [str(t.morph) for t in fresh]


@pytest.fixture(scope="module")
def trained():
    pipeline = get_pipeline()
    if not pipeline.trained or "attribute_ruler" not in pipeline.nlp.pipe_names:
        pytest.skip("needs the trained pipeline (the README installs it)")
    return pipeline.nlp


def test_array_ruler_gives_the_rulers_own_pos_and_morphology_on_the_demo_wikinews_and_edge_texts(trained):
    assert _array_ruler(trained.get_pipe("attribute_ruler")) is not None  # en_core_web_sm's rules are covered
    differing = 0
    for doc in trained.pipe(_texts()):
        layer = unparsed_attributes(layer_from_doc(doc), trained, parsed=doc)
        expected = _by_ruler(layer, trained)
        differing += (layer.pos, layer.morphs) != expected
    assert differing == 0


def test_the_parsed_docs_pos_differs_where_a_dep_rule_fired_and_the_layer_does_not_keep_it(trained):
    doc = trained("There is a problem, but it is what it is.")
    layer = unparsed_attributes(layer_from_doc(doc), trained, parsed=doc)
    assert layer.pos == _by_ruler(layer, trained)[0]
    assert layer.pos != [t.pos_ for t in doc]  # e.g. "is" after expletive "There": VERB with the parse, AUX without


def test_rules_the_arrays_cannot_express_fall_back_to_the_ruler(trained):
    ruler = AttributeRuler(trained.vocab, name="attribute_ruler")
    ruler.add([[{"LOWER": "big", "OP": "+"}, {"TAG": "NN"}]], {"POS": "ADJ"})
    assert _array_ruler(ruler) is None
    ruler = AttributeRuler(trained.vocab, name="attribute_ruler")
    ruler.add([[{"LOWER": {"REGEX": "^wh"}}, {"TAG": {"IN": ["VBZ", "VBD"]}}]], {"POS": "PRON"}, index=0)
    ruler.add([[{"TAG": "NN", "DEP": {"NOT_IN": ["dobj", ""]}}]], {"MORPH": "Number=Sing"})
    fast = _array_ruler(ruler)
    assert fast is not None
    doc = trained("What is this? Who was there? The cat sat on a mat.")
    pos, morphs = fast.apply(doc)
    fresh = ruler(Doc(trained.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc],
                      tags=[t.tag_ for t in doc]))
    assert pos == [t.pos_ for t in fresh] and "PRON" in pos
    assert morphs == [str(t.morph) for t in fresh]
