"""The speaker linker: a registered spaCy component that attributes each quotation to a speaker.

With a dependency parse: the speech verb governing the quote (or nearest to it in the sentence),
its subject; "according to X"; pronouns resolved to the most salient earlier PERSON; role nouns
("the Russian leader") and outlet nouns ("the newspaper") resolved to the PERSON / ORG named
earlier; quotes with no attribution of their own continue the previous speaker. Without a parse
(rule-only pipeline): the nearest speech verb and the capitalised name next to it.

The speaker is the canonical name of the entity (its fullest mention in the article); the mention
span is the words used in the attribution.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .lexicon import (
    GROUP_PRONOUNS,
    OUTLET_NOUNS,
    PERSON_PRONOUNS,
    PERSON_ROLE_NOUNS,
    SPEECH_FORMS,
    SPEECH_VERBS,
)
from .quotes import SCARE, Quote, QuoteIndex, sentences

_PARAGRAPH_BREAK = re.compile(r"\n(?:\s*\n)*")
LOOKBACK_ENTITIES = 200
NAMED = ("PERSON", "ORG", "GPE", "NORP", "FAC")
HONORIFICS = frozenset("dr mr mrs ms mx sir dame lord lady rev fr cardinal judge senator sen rep gov gen col "
                       "capt sgt prof st assemblywoman assemblyman councillor councilor qc kc".split())
INDEFINITE = frozenset({"a", "an", "one", "another", "some", "several", "many"})
RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom"})
SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
CLIMB_DEPS = ("advcl", "xcomp", "conj", "pcomp", "acl", "ccomp", "prep", "relcl", "parataxis")


@dataclass
class Entity:
    start: int
    end: int
    label: str
    text: str
    key: str
    sent_start: int
    is_subject: bool


def _clean_name(text: str) -> str:
    for suffix in ("’s", "'s", "’", "'"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.strip(" ,.;:“”\"'‘’")


def _strip_titles(name: str) -> str:
    """'Assemblywoman Selena Torres' -> 'Selena Torres': titles are not part of a person's name."""
    name = name.rsplit(",", 1)[-1].strip()
    words = name.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in HONORIFICS:
        words = words[1:]
    return " ".join(words)


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[:1].isupper() and w.lower() != "the")


class EntityTable:
    """Named entities outside quotations, grouped into clusters with a canonical (fullest) name."""

    def __init__(self, doc: Doc, index: QuoteIndex, entities: list[Entity]):
        self.doc = doc
        self.entities = sorted(entities, key=lambda e: e.start)
        self.starts = [e.start for e in self.entities]
        self.canonical: dict[str, str] = {}
        self._proper_names: dict[str, list[str]] | None = None
        clusters: dict[str, list[Entity]] = {}
        for e in self.entities:
            clusters.setdefault(e.key, []).append(e)
        # an acronym joins the cluster whose name it abbreviates (NYT -> The New York Times)
        for key in list(clusters):
            members = clusters.get(key)
            if not members:
                continue
            text = members[0].text
            if text.isupper() and 2 <= len(text) <= 6:
                for other_key, others in list(clusters.items()):
                    if other_key != key and any(_initials(o.text) == text for o in others):
                        others.extend(clusters.pop(key))
                        for e in others:
                            e.key = other_key
                        break
        for key, members in clusters.items():
            self.canonical[key] = max((m.text for m in members), key=lambda t: (len(t.split()), len(t)))

    @classmethod
    def from_doc(cls, doc: Doc, index: QuoteIndex, has_parse: bool) -> EntityTable:
        entities = []
        sents = sentences(doc)
        for ent in doc.ents:
            if ent.label_ not in NAMED or index.contains(ent.start_char) or index.contains(ent.end_char - 1):
                continue
            if any(t.is_quote for t in ent):
                continue
            text = _clean_name(ent.text)
            if not text:
                continue
            label = ent.label_
            if label == "PERSON" and _described_as_outlet(ent):
                label = "ORG"  # "Croatian outlet Advance": the tagger's PERSON is a publication
            if label == "PERSON":
                text = _strip_titles(text)
                if not text:
                    continue
                key = "P:" + text.split()[-1].lower()
            else:
                words = text.split()
                if words and words[0].lower() == "the":
                    words = words[1:]
                key = label[0] + ":" + " ".join(words).lower()
            is_subject = any(t.dep_ in SUBJECT_DEPS or (t.head.dep_ in SUBJECT_DEPS and t.dep_ in (
                "compound", "appos", "flat")) for t in ent) if has_parse else False
            sent_start = sents.start_char(ent.start)
            entities.append(Entity(ent.start_char, ent.end_char, label, text, key, sent_start, is_subject))
        return cls(doc, index, entities)

    def name_of(self, e: Entity) -> str:
        name = self.canonical.get(e.key, e.text)
        if e.label != "PERSON" and len(name.split()) == 1:
            # a surname the tagger took for an organisation ("Ebrard said"): the person it names
            person = self.canonical.get("P:" + name.lower())
            if person:
                return person
        return name

    def at(self, start: int, end: int, labels: tuple[str, ...] = NAMED) -> Entity | None:
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        while i < len(self.entities) and self.entities[i].start < end:
            e = self.entities[i]
            if e.label in labels and start < e.end:
                return e
            i += 1
        return None

    def most_salient_before(
        self, offset: int, labels: tuple[str, ...], sent_start: int, *, subjects_only_here: bool = False
    ) -> Entity | None:
        """The entity a pronoun or role noun at `offset` refers to: the last one earlier in the same
        sentence, else a subject of an earlier sentence (centering: subjects stay in focus)."""
        # entities never overlap, so those ending before `offset` are a prefix of the sorted list;
        # look back a bounded distance (a pronoun does not reach back hundreds of entities)
        stop = bisect.bisect_left(self.starts, offset)
        before = [e for e in self.entities[max(0, stop - LOOKBACK_ENTITIES) : stop]
                  if e.end <= offset and e.label in labels]
        if not before:
            return None
        same = [e for e in before if e.start >= sent_start and (e.is_subject or not subjects_only_here)]
        if same:
            return same[-1]
        if subjects_only_here:
            before = [e for e in before if e.start < sent_start] or before
        last_sent = before[-1].sent_start
        window = [e for e in before if e.sent_start == last_sent]
        subjects = [e for e in window if e.is_subject]
        return subjects[0] if subjects else window[-1]

    def lookup_name(self, text: str, label: str = "PERSON") -> str:
        text = _clean_name(text)
        if label == "PERSON" and text:
            last = text.split()[-1]
            found = self.canonical.get("P:" + last.lower())
            if found:
                return self.name_of(Entity(0, 0, "PERSON", found, "P:" + last.lower(), 0, False))
            # the tagger missed this person: the fullest proper-noun run ending in the same word
            runs = self.proper_names.get(last.lower(), [])
            return max(runs, key=lambda t: len(t.split()), default=text)
        return text

    @property
    def proper_names(self) -> dict[str, list[str]]:
        if self._proper_names is None:
            names: dict[str, list[str]] = {}
            for tok in self.doc:
                if tok.pos_ != "PROPN" and not (tok.is_title and tok.dep_ in SUBJECT_DEPS):
                    continue
                if tok.dep_ in ("compound", "flat") and tok.head.i == tok.i + 1 and tok.head.pos_ == "PROPN":
                    continue  # not the last word of the name
                run = [tok]
                i = tok.i - 1
                while i >= 0 and self.doc[i].pos_ == "PROPN" and self.doc[i].head.i in (tok.i, i + 1):
                    prev = self.doc[i]
                    if prev.lower_ in PERSON_ROLE_NOUNS or prev.lower_.rstrip(".") in HONORIFICS:
                        break
                    if prev.ent_type_ != tok.ent_type_ or (prev.ent_iob_ == "B" and tok.ent_iob_ == "B"):
                        break
                    run.insert(0, self.doc[i])
                    i -= 1
                names.setdefault(tok.lower_, []).append(_strip_titles(" ".join(t.text for t in run)))
            self._proper_names = names
        return self._proper_names


def _described_as_outlet(ent: Span) -> bool:
    return any(
        c.lemma_.lower() in OUTLET_NOUNS and c.dep_ in ("compound", "appos", "amod")
        for t in ent for c in t.children
    )


def quote_root(span: Span) -> Token:
    """The quote's syntactic root, ignoring its marks and punctuation (a closing mark is often
    attached to the next sentence by the parser)."""
    words = [t for t in span if not (t.is_punct or t.is_space or t.is_quote)] or list(span)

    def depth(t: Token) -> int:
        return sum(1 for _ in t.ancestors)

    return min(words, key=depth)


def _speaker_from_subject(subj: Token, table: EntityTable, index: QuoteIndex) -> tuple[str | None, int, int]:
    """(speaker, mention start, mention end) for a subject token; speaker None when unresolvable."""
    doc = subj.doc
    if subj.lower_ in RELATIVE_PRONOUNS and subj.head.dep_ == "relcl":
        noun = subj.head.head
        name, s, e = _speaker_from_subject(noun, table, index)
        if name is not None and noun.lemma_.lower() not in OUTLET_NOUNS:
            return name, s, e
        verb = noun.head
        for c in verb.children if verb.pos_ in ("VERB", "AUX") else ():
            if c.dep_ in SUBJECT_DEPS:
                return _speaker_from_subject(c, table, index)
        return name, s, e
    tokens = [t for t in subj.subtree if not index.contains(t.idx)]
    left = subj.left_edge.i
    right = subj.i
    for t in subj.children:  # "The mayor of London, Sadiq Khan," / "Jennifer Lu of Marriage Equality"
        if t.dep_ in ("appos", "compound", "flat") and t.i > right:
            right = t.right_edge.i if t.dep_ == "appos" else t.i
    while right > left and (doc[right].is_punct or doc[right].is_space):
        right -= 1
    m_start, m_end = doc[left].idx, doc[right].idx + len(doc[right])
    lower = subj.lower_
    if subj.pos_ == "PRON" or lower in PERSON_PRONOUNS or lower in GROUP_PRONOUNS:
        labels = ("PERSON",) if lower in PERSON_PRONOUNS else ("ORG", "GPE", "NORP", "PERSON")
        if lower in ("i", "we", "you"):
            return None, subj.idx, subj.idx + len(subj)
        # a subject pronoun does not refer to an object of its own sentence ("Speaking to Smith, he said")
        ent = table.most_salient_before(subj.idx, labels, sentences(subj.doc).start_char(subj.i), subjects_only_here=True)
        return (table.name_of(ent) if ent else None), subj.idx, subj.idx + len(subj)
    # a named entity that the subject is, or is in apposition with
    own = table.at(subj.idx, subj.idx + len(subj))
    if own is not None:
        return table.name_of(own), m_start, m_end
    named = [table.at(t.idx, t.idx + len(t)) for t in tokens]
    named = [e for e in named if e is not None]
    persons = [e for e in named if e.label == "PERSON"]
    if persons:
        return table.name_of(persons[0]), m_start, m_end
    # "One MP told the BBC", "an eyewitness said": an unnamed source, described
    if any(c.dep_ in ("det", "nummod") and c.lower_ in INDEFINITE for c in subj.children) or (
            subj.lower_ in INDEFINITE and subj.i < subj.right_edge.i):
        return _description(subj, index)
    for c in subj.children:  # "the institute's director, Dr. Anthony Fauci, said"
        if c.dep_ == "appos" and c.pos_ == "PROPN" and not index.contains(c.idx):
            return table.lookup_name(c.text), m_start, m_end
    if subj.pos_ == "PROPN" and subj.lower_ not in PERSON_ROLE_NOUNS:
        run = [t for t in tokens if t.pos_ == "PROPN" and t.i <= subj.i and (t.dep_ in ("compound", "flat") or t is subj)]
        text = " ".join(t.text for t in run) or subj.text
        return table.lookup_name(text), m_start, m_end
    lemma = subj.lemma_.lower()
    if lemma in OUTLET_NOUNS or lemma in PERSON_ROLE_NOUNS:
        labels = ("ORG",) if lemma in OUTLET_NOUNS else ("PERSON",)
        ent = table.most_salient_before(m_start, labels, sentences(subj.doc).start_char(subj.i))
        if ent is not None:
            return table.name_of(ent), m_start, m_end
    if subj.is_title and not subj.is_sent_start or subj.pos_ == "PROPN":
        return table.lookup_name(subj.text), m_start, m_end
    named = [e for e in named if e.label in ("PERSON", "ORG", "GPE")]
    if named:
        return table.name_of(named[0]), m_start, m_end
    return _description(subj, index)


def _description(subj: Token, index: QuoteIndex) -> tuple[str | None, int, int]:
    """An unnamed source as the text describes it ("One MP", "one of the children")."""
    doc = subj.doc
    left, right = subj.left_edge.i, min(subj.right_edge.i, subj.left_edge.i + 7)
    while right > left and (doc[right].is_punct or index.contains(doc[right].idx)):
        right -= 1
    s, e = doc[left].idx, doc[right].idx + len(doc[right])
    words = sentences(doc).text[s:e].split()
    if len(words) > 1 and words[0].lower() in ("a", "an", "the"):
        words = words[1:]
    return (" ".join(words) or None), s, e


def _is_person_like(subj: Token, table: EntityTable) -> bool:
    if subj.lower_ in PERSON_PRONOUNS or subj.lemma_.lower() in PERSON_ROLE_NOUNS:
        return True
    ent = table.at(subj.idx, subj.idx + len(subj), ("PERSON", "ORG"))
    return ent is not None


def _subject_of(verb: Token, index: QuoteIndex, span: Span, max_climb: int = 7) -> Token | None:
    tok = verb
    for _ in range(max_climb):
        subjects = [c for c in tok.children
                    if c.dep_ in SUBJECT_DEPS and not index.contains(c.idx) and not (span.start <= c.i < span.end)]
        if subjects:
            # two subjects = a parse error ("VLADIVOSTOK, Russia — … Putin warned"): take the person
            # nearest to the verb
            return min(subjects, key=lambda c: (c.ent_type_ != "PERSON", abs(c.i - tok.i)))
        if _is_speech_verb(tok) and tok.i > span.end - 1:
            # "“…,” said a protester": the parser sometimes makes the inverted subject an object
            objs = [c for c in tok.children if c.dep_ in ("dobj", "attr", "npadvmod", "oprd") and c.i > tok.i]
            if objs:
                return objs[0]
        if tok.dep_ in CLIMB_DEPS and tok.head is not tok and not index.contains(tok.head.idx):
            tok = tok.head
        else:
            return None
    return None


def _is_speech_verb(tok: Token) -> bool:
    return tok.pos_ in ("VERB", "AUX") and (tok.lemma_.lower() in SPEECH_VERBS or tok.lower_ in SPEECH_FORMS)


class SpeakerLinker:
    def __init__(self, nlp: Language, name: str, floating_paragraphs: int):
        self.name = name
        self.floating_paragraphs = floating_paragraphs

    def __call__(self, doc: Doc) -> Doc:
        quotes: list[Quote] = doc._.sp_quotes or []
        if not quotes:
            return doc
        has_parse = doc.has_annotation("DEP")
        index = QuoteIndex(quotes)
        table = EntityTable.from_doc(doc, index, has_parse)
        names = None if has_parse else RuleNames(doc, index)
        previous: Quote | None = None
        for q in quotes:
            if q.kind == SCARE:
                continue
            span = doc.char_span(q.start, q.end, alignment_mode="expand")
            if span is None:
                continue
            if has_parse:
                self._attribute_parsed(doc, q, span, index, table)
            else:
                self._attribute_rules(doc, q, span, index, names)
            if q.speaker is None and previous is not None and previous.speaker and q.kind == "direct":
                gap = len(_PARAGRAPH_BREAK.findall(sentences(doc).text, previous.end, q.start))
                if gap <= self.floating_paragraphs and self._unattributed_context(doc, q, span, index):
                    q.speaker = previous.speaker  # a floating quote continues the previous speaker
                    q.notes.append("floating")
            if q.speaker:
                previous = q
        doc.user_data.pop("sp_sentences", None)  # a per-call cache: user_data is serialised with the Doc
        return doc

    # -- the region of text that can attribute a quote --------------------------------------
    def _region(self, doc: Doc, q: Quote, span: Span, index: QuoteIndex) -> list[Token]:
        sents = sentences(doc)
        first, last = sents.bounds(span.start)[0], sents.bounds(span.end - 1)[1]
        # "“…,” he said." split into its own sentence; "Peskov said:" ending the previous one
        if last < len(doc):
            nxt = sents.span(last)
            if nxt.start_char - q.end <= 2 and sentences(doc).text[q.end : nxt.start_char].count("\n") == 0:
                last = nxt.end
        if first > 0 and span.start == first:
            prev = sents.span(first - 1)
            tail = sentences(doc).text[prev.start_char : q.start].rstrip()
            if tail.endswith((":", ",")) and "\n" not in sentences(doc).text[prev.end_char - 1 : q.start].strip("\n "):
                first = prev.start
        return [t for t in doc[first:last] if not index.contains(t.idx)]

    def _unattributed_context(self, doc: Doc, q: Quote, span: Span, index: QuoteIndex) -> bool:
        return not any(
            t.lower_ in SPEECH_FORMS or t.lemma_.lower() in SPEECH_VERBS
            for t in self._region(doc, q, span, index)
        )

    def _set(self, q: Quote, speaker: str | None, s: int, e: int, why: str) -> None:
        q.speaker, q.speaker_start, q.speaker_end = speaker, s, e
        q.notes.append(why)

    def _attribute_parsed(self, doc: Doc, q: Quote, span: Span, index: QuoteIndex, table: EntityTable) -> None:
        region = self._region(doc, q, span, index)
        # 1. up the dependency path from the quote
        for anc in quote_root(span).ancestors:
            if span.start <= anc.i < span.end or index.contains(anc.idx):
                continue
            if anc.pos_ not in ("VERB", "AUX"):
                continue
            subj = _subject_of(anc, index, span, max_climb=1 if not _is_speech_verb(anc) else 7)
            if subj is None:
                continue
            if _is_speech_verb(anc) or (q.kind != "direct" and _is_person_like(subj, table)):
                name, s, e = _speaker_from_subject(subj, table, index)
                if name:
                    self._set(q, name, s, e, f"path:{anc.text}")
                    return
        # 2. "according to X"
        for t in region:
            if t.lower_ == "according" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "to":
                objs = [c for c in doc[t.i + 1].children if c.dep_ == "pobj"]
                if objs:
                    name, s, e = _speaker_from_subject(objs[0], table, index)
                    if name:
                        self._set(q, name, s, e, "according to")
                        return
        # 3. the speech verb nearest to the quote in its sentence
        verbs = [t for t in region if _is_speech_verb(t)]
        verbs.sort(key=lambda t: min(abs(t.idx - q.start), abs(t.idx - q.end)))
        for verb in verbs:
            subj = _subject_of(verb, index, span)
            if subj is not None:
                name, s, e = _speaker_from_subject(subj, table, index)
                if name:
                    self._set(q, name, s, e, f"verb:{verb.text}")
                    return
        # 4. introduced by a clause ("Trump, also on Twitter, defended his decision, “…”"):
        #    the person-like subject of the nearest verb governing the quote
        for anc in quote_root(span).ancestors:
            if span.start <= anc.i < span.end or index.contains(anc.idx) or anc.pos_ not in ("VERB", "AUX"):
                continue
            subj = _subject_of(anc, index, span, max_climb=2)
            if subj is not None and _is_person_like(subj, table):
                name, s, e = _speaker_from_subject(subj, table, index)
                if name:
                    self._set(q, name, s, e, f"clause:{anc.text}")
                    return

    def _attribute_rules(self, doc: Doc, q: Quote, span: Span, index: QuoteIndex, names: RuleNames) -> None:
        region = self._region(doc, q, span, index)
        verbs = [t for t in region if t.lower_ in SPEECH_FORMS]
        verbs.sort(key=lambda t: min(abs(t.idx - q.start), abs(t.idx - q.end)))
        for verb in verbs:
            found = _name_next_to(doc, verb, index)
            if found is not None:
                text, s, e = found
                if text.lower() in PERSON_PRONOUNS:
                    text = names.before(s)
                self._set(q, text and names.fullest(text), s, e, f"rule:{verb.text}")
                return


class RuleNames:
    """Runs of capitalised words outside quotes: the candidate names when there is no NER.
    Built once per document (a 1M-character article has thousands of quotes)."""

    def __init__(self, doc: Doc, index: QuoteIndex):
        runs, cur = [], []
        for t in doc:
            if t.is_title and t.is_alpha and not index.contains(t.idx) and not (t.is_sent_start and t.is_stop):
                cur.append(t)
                continue
            if cur:
                runs.append(cur)
            cur = []
        if cur:
            runs.append(cur)
        self.runs = [(r[0].idx, r[-1].idx + len(r[-1]), " ".join(t.text for t in r)) for r in runs]
        self.long_runs = [r for r in self.runs if len(r[2].split()) >= 2]
        self.long_ends = [r[1] for r in self.long_runs]
        self.by_last: dict[str, str] = {}
        for _, _, text in self.runs:
            last = text.split()[-1]
            if len(text.split()) > len(self.by_last.get(last, "").split()):
                self.by_last[last] = text

    def before(self, offset: int) -> str | None:
        i = bisect.bisect_right(self.long_ends, offset)
        return self.long_runs[i - 1][2] if i else None

    def fullest(self, name: str) -> str:
        return self.by_last.get(name.split()[-1], name)


def _name_next_to(doc: Doc, verb: Token, index: QuoteIndex) -> tuple[str, int, int] | None:
    for direction in (-1, 1):
        i = verb.i + direction
        steps = 0
        while 0 <= i < len(doc) and steps < 6:
            t = doc[i]
            if t.is_punct or t.is_quote or index.contains(t.idx):
                break
            if t.lower_ in PERSON_PRONOUNS:
                return t.text, t.idx, t.idx + len(t)
            if t.is_title and t.is_alpha and not t.is_stop:
                j = i
                while 0 <= j + direction < len(doc) and doc[j + direction].is_title and doc[j + direction].is_alpha:
                    j += direction
                a, b = sorted((i, j))
                return doc[a : b + 1].text, doc[a].idx, doc[b].idx + len(doc[b])
            i += direction
            steps += 1
    return None


@Language.factory(
    "sp_speakers",
    requires=["doc._.sp_quotes"],
    assigns=["doc._.sp_quotes"],
    default_config={"floating_paragraphs": 1},
)
def make_speaker_linker(nlp: Language, name: str, floating_paragraphs: int) -> SpeakerLinker:
    # floating_paragraphs: how far back a quote with no attribution may inherit the previous speaker
    return SpeakerLinker(nlp, name, floating_paragraphs)
