"""Grapheme clusters (what a reader sees as one character): never split by a token or a span.

A flag (🇺🇦 = two regional indicators), a ZWJ family (👨‍👩‍👧‍👦), an emoji with a skin tone or a
letter with combining marks is several code points; spaCy's tokenizer splits some of them
(a flag became two one-character tokens, a model DATE covered half a flag). Boundaries are
Unicode's extended grapheme clusters, `\\X` of the `regex` module.
"""

from __future__ import annotations

import regex
from spacy.language import Language

_CLUSTER = regex.compile(r"\X", flags=regex.DOTALL)
_EMPTY: frozenset[int] = frozenset()


def inside_positions(text: str) -> frozenset[int]:
    """Code-point positions that fall inside a cluster (a cut there would split it)."""
    # ASCII text has one multi-code-point cluster only: CR LF.
    if text.isascii() and "\r\n" not in text:
        return _EMPTY
    inside: set[int] = set()
    for m in _CLUSTER.finditer(text):
        start, end = m.span()
        if end - start > 1:
            inside.update(range(start + 1, end))
    return frozenset(inside)


def snap(text: str, start: int, end: int, inside: frozenset[int] | None = None) -> tuple[int, int]:
    """Widen [start, end) to whole clusters (a span never ends inside a flag)."""
    if inside is None:
        inside = inside_positions(text)
    if not inside:
        return start, end
    while start > 0 and start in inside:
        start -= 1
    while end < len(text) and end in inside:
        end += 1
    return start, end


def merge_split_clusters(doc):
    """Merge tokens so that no token boundary falls inside a grapheme cluster."""
    inside = inside_positions(doc.text)
    if not inside or len(doc) < 2:
        return doc
    groups: list[tuple[int, int]] = []
    for i in range(1, len(doc)):
        if doc[i].idx in inside:
            if groups and groups[-1][1] == i:
                groups[-1] = (groups[-1][0], i + 1)
            else:
                groups.append((i - 1, i + 1))
    if groups:
        with doc.retokenize() as retokenizer:
            for a, b in groups:
                retokenizer.merge(doc[a:b])
    return doc


@Language.component("sp_graphemes", assigns=["token.text"])
def sp_graphemes(doc):
    """First in every Standpoint pipeline, right after the tokenizer (sp_graphemes, version 1)."""
    return merge_split_clusters(doc)


def add_to(nlp) -> None:
    if "sp_graphemes" not in nlp.pipe_names:
        nlp.add_pipe("sp_graphemes", first=True)
