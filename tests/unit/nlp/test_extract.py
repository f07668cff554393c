"""annotate.nlp.extract on bad input: no crash, exact offsets, failures with a reason."""

import pytest

from annotate.nlp import extract
from annotate.nlp.extract import process_texts
from annotate.nlp.loading import get_pipeline


@pytest.fixture(scope="module")
def pipe():
    return get_pipeline()


def check_offsets(text, result):
    for ent in result.entities:
        assert text[ent["start"] : ent["end"]] == ent["text"]
    for q in result.quotes:
        assert text[q["start"] : q["end"]] == q["text"]
        assert q["text"][0] in "“\"'‘«»„‚‹" and q["text"][-1] in "”\"'’»«“‘›"


@pytest.mark.parametrize("text", ["", "   \n\n\t  "])
def test_empty_text_is_a_recorded_failure(pipe, text):
    [result] = process_texts(pipe, [("e", text)])
    assert result.error and "empty" in result.error


@pytest.mark.parametrize("text", [
    "“This quote never ends, and the article stops here",
    "He said “one” and “two and then stopped; 'unbalanced\" marks ” everywhere «",
    "“" + "A whole article that is one long quote. " * 300 + "”",
    "Владимир Путин заявил: «Западные войска станут законными целями», сообщает ТАСС.",
    "Der Kanzler sagte: „Wir bleiben standhaft.“ Dann ging er.",
    "👩‍👩‍👧 Zoë said “héllo 🌍 wörld” 🎉 — Zoe\u0308 agreed “yes\u0301”.",
])
def test_bad_input_never_crashes_and_offsets_stay_exact(pipe, text):
    [result] = process_texts(pipe, [("x", text)])
    assert result.error is None
    check_offsets(text, result)


def test_one_long_quote_is_one_span(pipe):
    text = "“" + "A whole article that is one long quote. " * 300 + "”"
    [result] = process_texts(pipe, [("x", text)])
    assert [(q["start"], q["end"]) for q in result.quotes] == [(0, len(text))]


def _long_article(chars: int) -> str:
    para = "Dmitry Peskov said “we will respond” in Moscow. 🌍 Zoë agreed.\n\n"
    return para * (chars // len(para) + 1)


def test_long_article_is_processed_in_pieces_with_exact_offsets(pipe, monkeypatch):
    monkeypatch.setattr(extract, "CHUNK_CHARS", 20_000)  # the piece-wise path, on a quick-to-run size
    text = _long_article(60_000)
    [result] = process_texts(pipe, [("big", text)])
    assert result.error is None
    check_offsets(text, result)
    assert len(result.quotes) == text.count("“we will respond”")
    assert {e["text"] for e in result.entities} >= {"Dmitry Peskov"}


def test_million_character_article(pipe):
    # the rule pipeline (same extraction code) keeps this under a few seconds; the trained one
    # takes about a minute on 2 cores for 1M characters
    rules = get_pipeline("/nonexistent/pipeline-dir")
    text = _long_article(1_000_000)
    assert len(text) >= 1_000_000
    [result] = process_texts(rules, [("big", text)])
    assert result.error is None
    check_offsets(text, result)
    assert len(result.quotes) == text.count("“we will respond”")


def test_one_failing_article_does_not_stop_the_others(pipe, monkeypatch):
    real = extract.doc_result

    def flaky(key, doc, **kw):
        if "BOOM" in doc.text:
            raise ValueError("broken article")
        return real(key, doc, **kw)

    monkeypatch.setattr(extract, "doc_result", flaky)
    results = list(process_texts(pipe, [("a", "Fine text."), ("b", "BOOM here."), ("c", "Also fine.")]))
    assert [r.key for r in results] == ["a", "b", "c"]
    assert [r.error is None for r in results] == [True, False, True]
    assert "broken article" in results[1].error
