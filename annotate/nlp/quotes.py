"""The quote finder: a registered spaCy component that adds quotation spans and their kind.

Kinds: `direct` (a reported clause or sentence), `partial` (a quoted fragment of speech built
into the reporter's sentence: called the plan “unacceptable”), `scare` (a quoted term, name or
heading that is not reported speech: the “coalition of the willing”).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span

from .lexicon import NAMING_CUES, SPEECH_FORMS, SPEECH_VERBS, TITLE_SMALL_WORDS
from .marks import find_marked_quotes

SPANS_KEY = "sp_quotes"

DIRECT, PARTIAL, SCARE = "direct", "partial", "scare"


@dataclass
class Quote:
    start: int
    end: int
    kind: str
    speaker: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    paragraphs: int = 1
    # Why the kind/speaker was chosen: kept for debugging the rules, never persisted.
    notes: list[str] = field(default_factory=list)

    @property
    def speaker_span(self) -> dict | None:
        if self.speaker_start is None:
            return None
        return {"start": self.speaker_start, "end": self.speaker_end}


if not Doc.has_extension("sp_quotes"):
    Doc.set_extension("sp_quotes", default=None)


class Sentences:
    """Sentence bounds by token index, computed once per Doc. (Span.sent re-checks the whole Doc's
    annotation on every call: quadratic on a 1M-character article with thousands of quotes.)"""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.text = doc.text  # Doc.text joins every token on each access
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP"):
            self.starts = [s.start for s in doc.sents]
        else:
            self.starts = [0]
        self.ends = [*self.starts[1:], len(doc)]

    def bounds(self, i: int) -> tuple[int, int]:
        k = max(0, bisect.bisect_right(self.starts, i) - 1)
        return self.starts[k], self.ends[k]

    def span(self, i: int) -> Span:
        return self.doc[slice(*self.bounds(i))]

    def start_char(self, i: int) -> int:
        start = self.bounds(i)[0]
        return self.doc[start].idx if start < len(self.doc) else len(self.text)


def sentences(doc: Doc) -> Sentences:
    cached = doc.user_data.get("sp_sentences")
    if cached is None or cached.doc is not doc or len(cached.ends) and cached.ends[-1] != len(doc):
        cached = doc.user_data["sp_sentences"] = Sentences(doc)
    return cached


class QuoteIndex:
    """Which character offsets fall inside a quotation: tokens inside quotes are never speakers."""

    def __init__(self, quotes: list[Quote]):
        self.starts = [q.start for q in quotes]
        self.quotes = quotes

    def contains(self, offset: int) -> bool:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i >= 0 and self.quotes[i].start <= offset < self.quotes[i].end


def _content(text: str, q: Quote) -> str:
    return text[q.start + 1 : q.end - 1].strip()


def _words(s: str) -> list[str]:
    return [w for w in s.replace("—", " ").split() if any(c.isalnum() for c in w)]


def _prev_char(text: str, offset: int) -> str:
    i = offset - 1
    while i >= 0 and text[i] in " \t\u00a0":
        i -= 1
    return text[i] if i >= 0 else "\n"


def _prev_word(text: str, offset: int) -> str:
    head = text[max(0, offset - 40) : offset].split()
    return head[-1].lower().strip(",;:") if head else ""


def _line(text: str, q: Quote) -> str:
    s = text.rfind("\n", 0, q.start) + 1
    e = text.find("\n", q.end)
    return text[s : e if e != -1 else len(text)].strip()


def _is_title_case(words: list[str]) -> bool:
    alpha = [w.strip(".,;:!?()[]") for w in words]
    alpha = [w for w in alpha if any(c.isalpha() for c in w)]
    return all(w[0].isupper() or w.lower() in TITLE_SMALL_WORDS or not w[0].isalpha() for w in alpha)


def _is_heading(text: str, q: Quote) -> bool:
    """A quote in a short line without sentence punctuation: a headline or subheading."""
    line = _line(text, q)
    if len(_words(line)) > 14 or len(line) > 120:
        return False
    stripped = line.rstrip("”’\"'»« ")
    return not stripped.endswith((".", "!", "?", ",", ":", ";"))


def _in_subject(span: Span) -> bool:
    """The quoted words sit inside a clause's subject: a term, not someone's speech."""
    from .speakers import quote_root

    root = quote_root(span)
    for tok in [root, *root.ancestors]:
        if tok.dep_ in ("nsubj", "nsubjpass", "csubj") and not (span.start <= tok.i < span.end):
            return True
        if tok.pos_ in ("VERB", "AUX") and not (span.start <= tok.i < span.end):
            return False
    return False


def _is_unquoted_verb_fragment(span: Span) -> bool:
    """One quoted verb whose object lies outside the marks (accused the West of "stealing" assets):
    the reporter distancing from a word, not quoting a fragment of speech."""
    words = [t for t in span if not t.is_punct and not t.is_quote]
    if len(words) != 1 or words[0].pos_ != "VERB":
        return False
    return any(not (span.start <= c.i < span.end) and c.dep_ in ("dobj", "obj", "attr") for c in words[0].children)


def _has_speech_context(doc: Doc, span: Span, index: QuoteIndex, has_parse: bool) -> bool:
    sent = sentences(doc).span(span.start)
    for tok in sent:
        if index.contains(tok.idx):
            continue
        if (has_parse and tok.lemma_.lower() in SPEECH_VERBS and tok.pos_ in ("VERB", "AUX")) or (
            tok.lower_ in SPEECH_FORMS
        ):
            return True
        if tok.lower_ == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            return True
    return False


def classify_kind(doc: Doc, q: Quote, index: QuoteIndex, has_parse: bool) -> str:
    text = sentences(doc).text
    content = _content(text, q)
    words = _words(content)
    if not words:
        return SCARE
    if q.paragraphs > 1:
        return DIRECT
    if _is_heading(text, q):
        q.notes.append("heading")
        return SCARE
    if _prev_word(text, q.start) in NAMING_CUES:
        q.notes.append("naming cue")
        return SCARE
    ends_sentence = content.rstrip("”’\"'»)]").endswith((".", "!", "?"))
    if len(words) <= 8 and _is_title_case(words) and not ends_sentence:
        q.notes.append("title case")
        return SCARE
    first = content.lstrip("[(…. ")[:1]
    prev = _prev_char(text, q.start)
    opens_clause = prev in ",:.!?\n" or q.start == 0 or prev in "“”\"'"
    if first.isupper() or content.startswith("["):
        if len(words) >= 3 or ends_sentence:
            return DIRECT
    elif opens_clause and len(words) >= 4:
        return DIRECT
    span = doc.char_span(q.start, q.end, alignment_mode="expand")
    if span is not None and has_parse:
        if _in_subject(span):
            q.notes.append("in subject")
            return SCARE
        if _is_unquoted_verb_fragment(span):
            q.notes.append("verb fragment")
            return SCARE
    if span is not None and not _has_speech_context(doc, span, index, has_parse):
        q.notes.append("no speech in sentence")
        return SCARE
    return PARTIAL


class ParagraphSentences:
    """Every paragraph (and every line: headings, captions) starts a new sentence. News copy puts
    headings and datelines on their own lines without a full stop; left to itself the parser
    glues them to the next sentence and attribution then looks in the wrong place."""

    def __init__(self, nlp: Language, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) < 2:
            return doc
        # one array write: setting Token.is_sent_start re-scans the Doc each time (quadratic)
        arr = doc.to_array([SENT_START])
        changed = False
        for tok in doc[:-1]:
            if "\n" in tok.text_with_ws and not doc[tok.i + 1].is_space and arr[tok.i + 1] != 1:
                arr[tok.i + 1] = 1
                changed = True
        if changed:
            doc.from_array([SENT_START], arr)
        return doc


@Language.factory("sp_paragraphs", assigns=["token.is_sent_start"])
def make_paragraph_sentences(nlp: Language, name: str) -> ParagraphSentences:
    return ParagraphSentences(nlp, name)


class QuoteFinder:
    """Finds quotations by their marks and decides their kind (uses the parse when present)."""

    def __init__(self, nlp: Language, name: str, max_paragraphs: int, spans_key: str):
        self.name = name
        self.max_paragraphs = max_paragraphs
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        has_parse = doc.has_annotation("DEP")
        marked = find_marked_quotes(sentences(doc).text, max_paragraphs=self.max_paragraphs)
        quotes = [Quote(m.start, m.end, DIRECT, paragraphs=m.paragraphs) for m in marked]
        index = QuoteIndex(quotes)
        spans = []
        for q in quotes:
            q.kind = classify_kind(doc, q, index, has_parse)
            span = doc.char_span(q.start, q.end, label=q.kind, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc._.sp_quotes = quotes
        doc.spans[self.spans_key] = spans
        doc.user_data.pop("sp_sentences", None)  # a per-call cache: user_data is serialised with the Doc
        return doc


@Language.factory(
    "sp_quotes",
    assigns=["doc._.sp_quotes", "doc.spans"],
    default_config={"max_paragraphs": 20, "spans_key": SPANS_KEY},
)
def make_quote_finder(nlp: Language, name: str, max_paragraphs: int, spans_key: str) -> QuoteFinder:
    # max_paragraphs: a quote left open for more paragraphs than this is unbalanced marks, not a speech
    return QuoteFinder(nlp, name, max_paragraphs, spans_key)
