"""Make a labelled stance benchmark in the import format (every line has `gold`), offline.

    python tests/benchmarks/make_stance_set.py OUT_DIR [--train 1500] [--test 1000] [--seed 7]

Writes OUT_DIR/train.jsonl and OUT_DIR/test.jsonl. WHAT IT IS: synthetic, and says so. No
public stance corpus can be downloaded here, so the articles are real news sentences (the
Wikinews and demo corpora under ../shared/corpus/, shuffled as background) into which sentences
carrying a stance on three targets are mixed. The label depends on the text, but not trivially:
- an article takes positions on several targets at once, with different stances, and the same
  evaluative words serve every target: only the sentences that mention a target tell whose stance
  a cue is (names and aliases vary: "nuclear power", "atomic energy", "reactors");
- cues are drawn from a large, overlapping lexicon; a third of the articles also quote the other
  side once ("critics, however, …"); some cues are negated ("far from opposing");
- NEUTRAL articles mention the target with reporting verbs only; UNRELATED ones not at all;
- 12% of the labels are flipped at random (annotator noise), so no model reaches 1.0.
Frames are derived from topic words with noise. Figures on it are for comparing models on the same
split (the product against the TF-IDF + LinearSVC reference), not for claims about real corpora.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
if not CORPUS.exists():  # a worktree: ../shared beside the repository
    CORPUS = Path("/work/shared/corpus")

TARGETS = {
    "nuclear-power": ["nuclear power", "atomic energy", "the reactors", "nuclear plants"],
    "carbon-tax": ["the carbon tax", "carbon pricing", "the emissions levy", "the climate levy"],
    "remote-work": ["remote work", "working from home", "telework", "home office rules"],
}
FRAMES = {"nuclear-power": "Health and safety", "carbon-tax": "Economic", "remote-work": "Quality of life"}

SUBJECTS = ["The minister", "The opposition leader", "A union spokesperson", "The chamber of commerce",
            "Local residents", "The editorial board", "Several economists", "The mayor", "Campaigners",
            "The industry group", "A government adviser", "Environmental groups", "The committee chair"]
FAVOR = ["strongly backed", "praised", "welcomed", "defended", "championed", "called for more of",
         "said the country badly needs", "argued there is no alternative to", "celebrated the success of",
         "urged parliament to expand", "hailed", "voiced firm support for", "described as a blessing",
         "pledged to fund", "endorsed"]
AGAINST = ["sharply criticised", "condemned", "rejected", "warned against", "called for an end to",
           "said the country cannot afford", "argued there is no case for", "attacked the failure of",
           "urged parliament to scrap", "denounced", "voiced firm opposition to", "described as a disaster",
           "pledged to block", "opposed"]
NEUTRAL = ["discussed", "mentioned", "asked about the timetable for", "reported figures on",
           "commissioned a study of", "noted the debate about", "listed the costs of", "referred to"]
NEGATED_FAVOR = ["was far from opposing", "no longer objects to", "stopped resisting"]
NEGATED_AGAINST = ["was far from enthusiastic about", "no longer supports", "withdrew support for"]
ENDINGS = ["on Tuesday.", "in a statement.", "during the debate.", "at a press conference.",
           "in an interview.", "on social media.", "before the vote.", "last week."]


def background_sentences() -> list[str]:
    sentences: list[str] = []
    for path in (CORPUS / "wikinews" / "articles.jsonl", CORPUS / "seed_articles.jsonl"):
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line).get("text", "")
            sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 40 < len(s.strip()) < 300]
    if not sentences:
        raise SystemExit(f"no corpus found under {CORPUS}")
    return sentences


def cue(rng: random.Random, target: str, polarity: str) -> str:
    name = rng.choice(TARGETS[target])
    verbs = {"FAVOR": FAVOR, "AGAINST": AGAINST, "NEUTRAL": NEUTRAL}[polarity]
    if polarity != "NEUTRAL" and rng.random() < 0.15:
        verbs = NEGATED_FAVOR if polarity == "FAVOR" else NEGATED_AGAINST
    return f"{rng.choice(SUBJECTS)} {rng.choice(verbs)} {name} {rng.choice(ENDINGS)}"


def article(rng: random.Random, n: int, background: list[str]) -> dict:
    sentences = rng.sample(background, rng.randint(6, 14))
    stance: dict[str, str] = {}
    for target in TARGETS:
        if rng.random() < 0.25:
            continue  # this article carries no label for the target (as in real partial annotation)
        label = rng.choices(["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"], weights=[3, 3, 2, 1.5])[0]
        if label != "UNRELATED":
            for _ in range(rng.randint(1, 3)):
                sentences.insert(rng.randrange(len(sentences) + 1), cue(rng, target, label))
            if label in ("FAVOR", "AGAINST") and rng.random() < 0.33:
                other = cue(rng, target, "AGAINST" if label == "FAVOR" else "FAVOR")
                sentences.insert(rng.randrange(len(sentences) + 1), "Critics, however, said: " + other[0].lower()
                                 + other[1:])
        if rng.random() < 0.12:
            label = rng.choice([x for x in ("FAVOR", "AGAINST", "NEUTRAL", "UNRELATED") if x != label])
        stance[target] = label
    frames = sorted({FRAMES[t] for t, label in stance.items() if label in ("FAVOR", "AGAINST")}
                    | ({"Political"} if rng.random() < 0.4 else set()))
    gold: dict = {"stance": stance}
    if frames:
        gold["frames"] = frames
        gold["primary_frame"] = frames[0]
    return {"id": f"syn-{n:06d}", "title": f"Report {n}", "text": " ".join(sentences), "gold": gold}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--train", type=int, default=1500)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    background = background_sentences()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    for name, count in (("train.jsonl", args.train), ("test.jsonl", args.test)):
        with open(args.out_dir / name, "w", encoding="utf-8") as fh:
            for _ in range(count):
                fh.write(json.dumps(article(rng, n, background)) + "\n")
                n += 1
    print(f"wrote {args.train} + {args.test} articles to {args.out_dir}")


if __name__ == "__main__":
    main()
