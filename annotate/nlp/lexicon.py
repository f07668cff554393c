"""Word lists for quotation kinds and speaker attribution (English news)."""

from __future__ import annotations

# Verbs that report speech or writing. Lemmas (the trained pipeline lemmatizes).
SPEECH_VERBS = frozenset("""
say tell warn add note write assert state claim insist stress call describe accuse announce
explain argue comment remark reply respond answer declare report tweet post continue conclude
acknowledge admit agree deny suggest urge ask question caution emphasize emphasise underline
underscore point observe recall reveal confirm predict promise vow pledge threaten complain
criticize criticise condemn praise thank characterize characterise label term dub brand
describe decry lament mention tout suggest quip joke scoff shout cry whisper exclaim testify
testified read recount speak talk concede maintain contend reiterate echo signal indicate
""".split())

# Inflected forms, for the rule-only pipeline which has no lemmatizer.
SPEECH_FORMS = frozenset(
    {f for lemma in SPEECH_VERBS for f in (lemma, lemma + "s", lemma + "ed", lemma + "d", lemma + "ing")}
    | {"said", "says", "saying", "told", "tells", "telling", "wrote", "writes", "writing", "written",
       "added", "noted", "warned", "stated", "claimed", "insisted", "stressed", "called", "described",
       "accused", "announced", "explained", "argued", "commented", "remarked", "replied", "responded",
       "tweeted", "continued", "concluded", "admitted", "denied", "urged", "asked", "cautioned",
       "emphasized", "emphasised", "observed", "recalled", "revealed", "confirmed", "declared",
       "reported", "read", "spoke", "talked", "echoed", "maintained", "reiterated", "insists", "warns", "adds", "notes"}
)

# Nouns that name a publication: "the newspaper noted" refers back to an outlet (an ORG).
OUTLET_NOUNS = frozenset("""
newspaper paper outlet daily weekly agency broadcaster magazine publication site website tabloid
channel network station journal report analysis statement broadsheet portal
""".split())

# Nouns for people by role: "the Russian leader said" refers back to a PERSON.
PERSON_ROLE_NOUNS = frozenset("""
leader president minister spokesman spokeswoman spokesperson official chancellor premier
secretary senator governor mayor chief director chairman chairwoman chair head commander
general envoy ambassador diplomat king queen prince pope judge prosecutor lawyer attorney
analyst expert author writer economist professor scientist researcher adviser advisor
lawmaker politician candidate activist founder ceo executive man woman father mother husband
wife son daughter aide strongman dictator monarch prime
""".split())

# Words after which a quoted term is named, not reported: a process called "exfiltration".
NAMING_CUES = frozenset("""
called named termed dubbed nicknamed labelled labeled titled entitled word words term terms
phrase phrases designation slogan motto hashtag so-called name
""".split())

PERSON_PRONOUNS = frozenset({"he", "she", "him", "her"})
GROUP_PRONOUNS = frozenset({"they", "them", "it"})

# Lower-case words allowed inside a Title Case name: “Coalition of the Willing”.
TITLE_SMALL_WORDS = frozenset("a an and at by de for from in of on or the to van von vs with".split())
