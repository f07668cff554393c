"""Find quotations by their quotation marks, on raw text (no tokens needed).

Works on character offsets (code points) so that the result is exact whatever the tokenizer does.
Handles “…”, "…", ‘…’, '…', «…», »…«, „…“ and ‚…‘; quotations that run over several paragraphs
(an opening mark, no closing mark at the paragraph end, the next paragraph reopening); and keeps
apostrophes (Ukraine’s, can't, the Joneses’ house) out of the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOUBLE, SINGLE = "double", "single"

# opening mark -> the closing marks that end it
_CURLY_PAIRS = {
    "“": "”“",  # English “…”; a German „…“ closes with “, handled below
    "„": "“”",
    "«": "»",
    "»": "«",  # Danish/German »…«
    "‘": "’",
    "‚": "‘’",
    "‹": "›",
}
_FAMILY = {"“": DOUBLE, "”": DOUBLE, "„": DOUBLE, "«": DOUBLE, "»": DOUBLE, '"': DOUBLE,
           "‘": SINGLE, "’": SINGLE, "‚": SINGLE, "‹": SINGLE, "›": SINGLE, "'": SINGLE}
_MARK_RE = re.compile("[\"'“”„«»‘’‚‹›]")
_PARA_RE = re.compile(r"\n\s*\n|\n")
# Characters after which a straight mark opens rather than closes.
_OPENER_CONTEXT = set(" \t\n\r\u00a0([{—–-/:;") | set("“„«‘‚")
# Characters before which a straight mark closes rather than opens.
_CLOSER_CONTEXT = set(" \t\n\r\u00a0)]}.,;:!?—–-/") | set("”»’›")


@dataclass(frozen=True)
class MarkedQuote:
    start: int  # offset of the opening mark
    end: int  # offset just after the closing mark
    open_mark: str
    close_mark: str
    paragraphs: int = 1

    @property
    def family(self) -> str:
        return _FAMILY[self.open_mark]


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for m in _PARA_RE.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _is_wordchar(ch: str) -> bool:
    return ch.isalnum()


def _classify(text: str, i: int, para_start: int, para_end: int) -> str | None:
    """'open', 'close', 'either' (straight mark with no side preference) or None (apostrophe)."""
    ch = text[i]
    prev = text[i - 1] if i > para_start else " "
    nxt = text[i + 1] if i + 1 < para_end else " "
    if ch == "«":
        return "either"  # opens French «…», closes Danish »…«
    if ch in "“„‘‚‹":
        if ch == "‘" and _is_wordchar(prev) and _is_wordchar(nxt):
            return None  # a mis-typed apostrophe inside a word
        return "open" if ch != "“" or not _is_wordchar(prev) else "either"
    if ch in "”»›":
        return "close" if ch != "»" else "either"
    if ch == "’" or ch == "'":
        # Inside a word (Ukraine’s, can't, rock'n'roll) it is an apostrophe, never a mark.
        if _is_wordchar(prev) and _is_wordchar(nxt):
            return None
        if ch == "'" and (prev in _OPENER_CONTEXT or i == para_start) and _is_wordchar(nxt):
            return "open"
        if prev in _OPENER_CONTEXT and nxt in _CLOSER_CONTEXT:
            return None
        return "close"  # kept only if a single quote is open (else: a plural possessive)
    # straight double mark
    opener = prev in _OPENER_CONTEXT or i == para_start
    closer = nxt in _CLOSER_CONTEXT or i + 1 == para_end
    if opener and not closer:
        return "open"
    if closer and not opener:
        return "close"
    return "either"


def _closes(open_mark: str, mark: str) -> bool:
    if open_mark in _CURLY_PAIRS:
        return mark in _CURLY_PAIRS[open_mark] or (mark in "\"'" and _FAMILY[mark] == _FAMILY[open_mark])
    # straight opener: any closing mark of the same family
    return _FAMILY[mark] == _FAMILY[open_mark] and mark not in "“„«‘‚‹"


def find_marked_quotes(text: str, *, max_paragraphs: int = 20) -> list[MarkedQuote]:
    """Outermost quotations in `text`, sorted by start. Unbalanced marks are dropped, not guessed.

    A quote nested in another one (single inside double) is part of the outer quote and not
    returned separately: that is how news copy quotes someone quoting someone else.
    """
    quotes: list[MarkedQuote] = []
    paragraphs = _paragraphs(text)
    carry: tuple[int, str, int] | None = None  # an open double quote running on: (start, mark, paragraphs)
    for p_index, (p_start, p_end) in enumerate(paragraphs):
        stack: list[tuple[int, str]] = []  # (offset, mark) of open marks
        first_mark = True
        for m in _MARK_RE.finditer(text, p_start, p_end):
            i, ch = m.start(), m.group()
            role = _classify(text, i, p_start, p_end)
            if role is None:
                continue
            lead = first_mark and not text[p_start:i].strip()
            first_mark = False
            if carry is not None and lead and role in ("open", "either") and _FAMILY[ch] == DOUBLE:
                # The paragraph reopens the quotation that ran on from the previous paragraph.
                stack.append((carry[0], carry[1]))
                continue
            if carry is not None and not stack:
                carry = None  # the previous paragraph's open quote was never resumed: unbalanced
            if role == "either":
                role = "close" if any(_closes(mk, ch) for _, mk in stack) else "open"
            if role == "open":
                if ch == '"' and stack and stack[-1][1] == '"':
                    role = "close"  # straight marks cannot nest: a second one closes
                else:
                    stack.append((i, ch))
                    continue
            # closing mark: find the innermost open mark it closes, dropping unclosed singles above it
            for depth in range(len(stack) - 1, -1, -1):
                if _closes(stack[depth][1], ch):
                    start, open_mark = stack[depth]
                    del stack[depth:]
                    if not stack:  # only outermost quotes are reported
                        paras = carry[2] if carry is not None and start == carry[0] else 1
                        quotes.append(MarkedQuote(start, i + 1, open_mark, ch, paras))
                        carry = None
                    break
        # paragraph end: a double quote still open may run on into the next paragraph
        carry_next = None
        doubles = [(s, mk) for s, mk in stack if _FAMILY[mk] == DOUBLE]
        if doubles and p_index + 1 < len(paragraphs):
            s, mk = doubles[0]
            paras = (carry[2] + 1) if carry is not None and s == carry[0] else 2
            if paras <= max_paragraphs:
                nxt_start = paragraphs[p_index + 1][0]
                if text[nxt_start] in "“„«»\"":
                    carry_next = (s, mk, paras)
        carry = carry_next
    quotes.sort(key=lambda q: (q.start, q.end))
    return quotes
