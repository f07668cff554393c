"""annotate/inputs.py: the fast paths (C-speed pre-checks that skip the parse-and-walk) never let
through what the slow path refuses."""

from __future__ import annotations

import json

import pytest

from annotate.inputs import MAX_DEPTH, InputRefused, NotJSON, json_loads, url_problem, value_problems


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("text", [
    # brackets inside strings must neither hide real depth nor count as depth
    '{"a": "' + "]" * 80 + '", "b": ' + nested(100) + "}",
    '{"a": "x\\"' + "]" * 80 + '", "b": ' + nested(70) + "}",
    '{"a": "\\\\", "b": ' + nested(65) + "}",
    '{"k": ' + nested(65) + ', "c": "' + "[" * 80 + '"}',
    "[" * 5000 + "]" * 5000,
    '{"a":' * 1000 + "1" + "}" * 1000,
])
def test_too_deep_is_found_whatever_the_strings_hold(text):
    with pytest.raises(InputRefused, match=f"nested deeper than {MAX_DEPTH} levels"):
        json_loads(text.encode())


def test_exactly_64_levels_pass_and_brackets_in_strings_are_text():
    assert json_loads(nested(MAX_DEPTH).encode()) is not None
    value = json_loads(('{"a": "' + "[" * 200 + '", "b": "\\"]]]"}').encode())
    assert value == {"a": "[" * 200, "b": '"]]]'}


@pytest.mark.parametrize(("text", "path"), [
    ('{"n": 9223372036854775808}', "n"),
    ('{"n": -9223372036854775809}', "n"),
    ('{"n": [1, 2, 123456789012345678901234567890]}', "n[2]"),
    ('{"n": 1e400}', "n"),
    ('{"n": 1E+400}', "n"),
    ('{"n": -1e400}', "n"),
    ('{"s": "ok", "t": "\\u0000"}', "t"),
    ('{"s": "\\uDFFF"}', "s"),
    ('{"s": "\\ud83d"}', "s"),
])
def test_numbers_and_escapes_the_fast_path_must_not_miss(text, path):
    with pytest.raises(InputRefused) as caught:
        json_loads(text.encode())
    assert list(caught.value.details) == [path]


def test_what_storage_can_hold_passes_unchanged():
    doc = {"n": 2**63 - 1, "m": -(2**63), "f": 1e300, "tiny": 1e-400, "s": "\U0001F600 \\u0000 literally",
           "digits": "1" * 40}
    assert json_loads(json.dumps(doc).encode()) == {**doc, "tiny": 0.0}
    assert json_loads(json.dumps(doc, ensure_ascii=False).encode()) == {**doc, "tiny": 0.0}


def test_malformed_json_is_not_json():
    for text in (b"{", b'{"a": NaN}', b"[1,]", b"\xff"):
        with pytest.raises(NotJSON):
            json_loads(text)


def test_value_problems_walks_python_values_iteratively():
    value: object = "x"
    for _ in range(5000):  # far past the recursion limit: a walk that recursed would crash here
        value = [value]
    (problem,) = value_problems(value)
    assert problem.message == "nested deeper than 64 levels"
    assert [str(p) for p in value_problems({"a\x00": 1, "b": ["\ud800"]})] == [
        '"a\\u0000": key contains a NUL character (\\u0000), which cannot be stored',
        "b[0]: contains a lone UTF-16 surrogate (\\ud800), which is not valid Unicode and cannot be stored",
    ]


@pytest.mark.parametrize("url", ["javascript:alert(1)", " javascript:alert(1)", "JAVASCRIPT:x", "data:text/html,x",
                                 "file:///etc/passwd", "//example.org/x", "/relative", "http:/nohost", "vbscript:x"])
def test_only_absolute_http_urls_pass(url):
    assert url_problem(url)


def test_http_urls_pass():
    assert url_problem("https://example.org/a?b=1#c") is None
    assert url_problem("HTTP://EXAMPLE.ORG") is None
    assert url_problem("") is None
