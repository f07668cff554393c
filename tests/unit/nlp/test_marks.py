"""annotate.nlp.marks: quotation marks found on raw text, offsets exact, apostrophes ignored."""

import pytest

from annotate.nlp.marks import find_marked_quotes


def spans(text):
    return [text[q.start : q.end] for q in find_marked_quotes(text)]


@pytest.mark.parametrize("quoted", ["“curly double”", '"straight double"', "‘curly single’", "«guillemets»",
                                    "„German low“", "»Danish«", "'straight single'"])
def test_every_mark_style_is_a_quotation(quoted):
    text = f"He said {quoted} and left."
    assert spans(text) == [quoted]


def test_apostrophes_are_not_marks():
    text = "Ukraine’s army can't wait; the allies’ plan and rock'n'roll stay unquoted, says O'Brien."
    assert spans(text) == []


def test_apostrophe_inside_a_quotation_does_not_close_it():
    text = "She said ‘Ukraine’s future isn’t for sale’ today."
    assert spans(text) == ["‘Ukraine’s future isn’t for sale’"]


def test_nested_single_quotes_belong_to_the_outer_quotation():
    text = "He said “they told me ‘never’ and I believed them” yesterday."
    assert spans(text) == ["“they told me ‘never’ and I believed them”"]


def test_comma_inside_the_marks_is_part_of_the_span():
    text = "“We will not back down,” the newspaper noted."
    assert spans(text) == ["“We will not back down,”"]


def test_multi_paragraph_quote_runs_to_the_last_closing_mark():
    text = "He said:\n\n“First paragraph of the speech.\n\n“Second paragraph, still him.”\n\nThen he left."
    [q] = find_marked_quotes(text)
    assert text[q.start : q.end] == "“First paragraph of the speech.\n\n“Second paragraph, still him.”"
    assert q.paragraphs == 2


def test_unbalanced_marks_are_dropped_without_shifting_later_quotes():
    text = "He said “this never closes.\n\nLater she said “this one does” clearly."
    assert spans(text) == ["“this one does”"]


def test_straight_marks_pair_up_in_order():
    text = 'Trump said "I can do it" and Pelosi replied "No." Then "swine flu" was named.'
    assert spans(text) == ['"I can do it"', '"No."', '"swine flu"']


def test_offsets_are_code_points_after_emoji_and_combining_marks():
    text = "👩‍👩‍👧 Zoë (Zoe\u0308) said “héllo 🌍” twice."
    [q] = find_marked_quotes(text)
    assert text[q.start : q.end] == "“héllo 🌍”"


def test_empty_and_markless_texts():
    assert find_marked_quotes("") == []
    assert find_marked_quotes("   \n\n  ") == []
    assert find_marked_quotes("No quotes at all.") == []
