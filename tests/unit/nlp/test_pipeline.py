"""Quote kinds and speakers through the real pipeline (trained when installed, else the rules)."""

import logging

import pytest
from django.test import override_settings

from annotate.nlp import loading
from annotate.nlp.extract import process_texts
from annotate.nlp.loading import get_pipeline


@pytest.fixture(scope="module")
def pipe():
    return get_pipeline()


def quotes(pipe, text):
    [result] = process_texts(pipe, [("t", text)])
    assert result.error is None
    for q in result.quotes:
        assert text[q["start"] : q["end"]] == q["text"]
        if q["speaker_span"]:
            assert 0 <= q["speaker_span"]["start"] < q["speaker_span"]["end"] <= len(text)
    return {q["text"]: q for q in result.quotes}


def test_pipeline_is_loaded_once_per_process(pipe):
    assert get_pipeline() is pipe
    assert list(loading.loaded_pipelines().values()).count(pipe) == 1
    assert pipe.nlp.pipe_names[-2:] == ["sp_quotes", "sp_speakers"]


def test_speaker_before_and_after_the_quote(pipe):
    text = ("Kremlin spokesman Dmitry Peskov spoke on Friday. “You cannot guarantee the security of one "
            "country by undermining another,” Peskov said.\n"
            "Foreign Minister Sergei Lavrov said: “The West is playing with fire.”")
    qs = quotes(pipe, text)
    first = qs["“You cannot guarantee the security of one country by undermining another,”"]
    assert (first["kind"], first["speaker"]) == ("direct", "Dmitry Peskov")
    assert text[first["speaker_span"]["start"] : first["speaker_span"]["end"]] == "Peskov"
    second = qs["“The West is playing with fire.”"]
    assert (second["kind"], second["speaker"]) == ("direct", "Sergei Lavrov")


def test_pronoun_resolves_to_the_previous_person(pipe):
    text = ("Russian President Vladimir Putin spoke at a forum in Vladivostok.\n"
            "“These will be legitimate targets for destruction,” he said.")
    q = quotes(pipe, text)["“These will be legitimate targets for destruction,”"]
    assert q["speaker"] == "Vladimir Putin"
    assert text[q["speaker_span"]["start"] : q["speaker_span"]["end"]] == "he"


def test_according_to(pipe):
    text = "According to Health Minister Jane Doe, “the hospitals are full and the staff exhausted.”"
    q = quotes(pipe, text)["“the hospitals are full and the staff exhausted.”"]
    assert q["kind"] == "direct"
    assert q["speaker"] == "Jane Doe"


def test_outlet_noun_refers_to_the_outlet_named_earlier(pipe):
    text = ("The remarks were highlighted by The New York Times on Monday.\n\n"
            "“Russia will not back down from its security guarantees,” the newspaper noted.")
    q = quotes(pipe, text)["“Russia will not back down from its security guarantees,”"]
    assert q["speaker"] == "The New York Times"


def test_partial_and_scare_quotes(pipe):
    text = ("Kremlin spokesman Dmitry Peskov called the Western plan “unacceptable” on Friday.\n\n"
            "Macron’s “Coalition of the Willing”\n\n"
            "Officials met in a process called “exfiltration” last year.")
    qs = quotes(pipe, text)
    assert (qs["“unacceptable”"]["kind"], qs["“unacceptable”"]["speaker"]) == ("partial", "Dmitry Peskov")
    for scare in ("“Coalition of the Willing”", "“exfiltration”"):
        assert qs[scare]["kind"] == "scare"
        assert qs[scare]["speaker"] is None and qs[scare]["speaker_span"] is None


def test_floating_quote_continues_the_previous_speaker(pipe):
    text = ("“We made a plea to the president,” Senate Minority Leader Chuck Schumer said.\n\n"
            "“He resisted. We will keep trying.”")
    q = quotes(pipe, text)["“He resisted. We will keep trying.”"]
    assert q["speaker"] == "Chuck Schumer"
    assert q["speaker_span"] is None


def test_rule_fallback_when_the_pipeline_cannot_be_loaded(caplog):
    missing = "/nonexistent/fallback-test-pipeline"
    with caplog.at_level(logging.WARNING, logger="standpoint.nlp"):
        rules = get_pipeline(missing)
        again = get_pipeline(missing)
    assert rules is again and not rules.trained
    warnings = [r for r in caplog.records if "NO TRAINED spaCy PIPELINE" in r.getMessage()]
    assert len(warnings) == 1
    assert "ner" not in rules.nlp.pipe_names and "parser" not in rules.nlp.pipe_names
    text = "Dmitry Peskov visited Paris.\n“We will never accept this plan,” Peskov said."
    [result] = process_texts(rules, [("t", text)])
    assert result.entities == []
    [q] = result.quotes
    assert (q["kind"], q["speaker"]) == ("direct", "Dmitry Peskov")
    assert (rules.name, rules.version) == ("standpoint_rules", "1")


@override_settings(SPACY_MODEL="/nonexistent/pipeline-dir")
def test_describe_configured_pipeline_reports_the_fallback():
    info = loading.describe_configured_pipeline()
    assert info["trained"] is False and "neither" in info["fallback_reason"]


def test_components_are_configurable_factories():
    import spacy

    from annotate.nlp import quotes, speakers  # noqa: F401  (registers the factories)
    from annotate.nlp.loading import build_rules_pipeline

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("sp_quotes", config={"max_paragraphs": 1, "spans_key": "quotes"})
    nlp.add_pipe("sp_speakers")
    text = "He said:\n\n“One paragraph.\n\n“Two paragraphs.”"
    doc = nlp(text)
    # with max_paragraphs=1 the unclosed first paragraph is unbalanced; only the second one is a quote
    assert [text[q.start : q.end] for q in doc._.sp_quotes] == ["“Two paragraphs.”"]
    assert [s.text for s in doc.spans["quotes"]] == ["“Two paragraphs.”"]
    assert build_rules_pipeline().get_pipe_meta("sp_quotes").assigns == ["doc._.sp_quotes", "doc.spans"]
