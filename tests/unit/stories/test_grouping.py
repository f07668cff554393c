"""Story grouping by date window, streamed in blocks: the same stories as comparing every pair at once,
with group-average linkage (one similar pair or a chain of them does not merge two stories)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from annotate.models import Article, Story
from annotate.services import stories as stories_service
from annotate.services.imports import articles_import
from annotate.stories import grouping
from tests.factories import ProjectFactory

from .corpus import DEMO, WIKINEWS, records, write_jsonl

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def _corpus(seed: int = 5) -> list[tuple[int, dt.datetime | None, str]]:
    """Events of 1-4 articles sharing words over a few days, some undated, spread over 60 days."""
    rng = random.Random(seed)
    vocab = [f"w{i}x" for i in range(3000)]
    rows, pk = [], 0
    for event in range(60):
        core = rng.sample(vocab, 40)
        day = rng.randint(0, 60)
        for _ in range(rng.randint(1, 4)):
            pk += 1
            words = rng.sample(core, 30) + rng.sample(vocab, 30)
            published = None if rng.random() < 0.1 else T0 + DAY * (day + rng.randint(0, 3))
            rows.append((pk, published, f"event{event} " + " ".join(words)))
    return rows


def _ordered(rows):
    return sorted(rows, key=lambda r: (r[1] is not None, r[1] or T0, r[0]))


def _vectors(texts, **kw):
    vectoriser = TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True,
                                 token_pattern=r"(?u)\b[^\W\d_][\w'’-]+\b", **kw)
    return vectoriser.fit_transform([grouping._boost(t) for t in texts]).toarray()


def _reference(rows, *, window_days, threshold) -> list[list[int]]:
    """The definition, over one dense TF-IDF matrix of the whole corpus: every pair in its window at or
    above the threshold, from the most similar down; two groups merge when the mean cosine over all
    their cross pairs is at or above it too."""
    vectors = _vectors([t for _, _, t in rows], min_df=2, max_df=0.5)
    sims = vectors @ vectors.T
    n = len(rows)
    candidates = []
    for i, (_, a, _) in enumerate(rows):
        for j in range(i):
            b = rows[j][1]
            if a is not None and b is not None and abs((a - b).total_seconds()) > window_days * 86400:
                continue
            if sims[i, j] >= threshold:
                candidates.append((-sims[i, j], i, j))
    group = {i: {i} for i in range(n)}
    for _, i, j in sorted(candidates):
        a, b = group[i], group[j]
        if a is not b and vectors[list(a)].sum(0) @ vectors[list(b)].sum(0) / (len(a) * len(b)) >= threshold:
            a |= b
            for k in b:
                group[k] = a
    return sorted({tuple(sorted(rows[k][0] for k in g)) for g in map(frozenset, group.values())})


def _single_linkage_joins(rows, a: int, b: int, threshold: float) -> bool:
    """Whether connected components of the pairs ≥ threshold (the grouping before) put a and b together."""
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components(_vectors([t for _, _, t in rows]) @ _vectors([t for _, _, t in rows]).T
                                     >= threshold, directed=False)
    index = {pk: i for i, (pk, _, _) in enumerate(rows)}
    return labels[index[a]] == labels[index[b]]


def _words(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}x" for i in range(n)]


@pytest.mark.parametrize("block", [7, 1000])
def test_blocks_and_window_give_the_stories_of_comparing_every_pair(monkeypatch, block):
    monkeypatch.setattr(grouping, "BLOCK", block)
    rows = _corpus()
    result = grouping.group_articles(iter(_ordered(rows)), window_days=2, threshold=0.15)
    assert [tuple(g) for g in sorted(result.groups)] == _reference(rows, window_days=2, threshold=0.15)
    assert len({len(g) for g in result.groups}) > 1  # the corpus does make multi-article stories
    assert sorted(result.undated.tolist()) == sorted(pk for pk, published, _ in rows if published is None)


@pytest.mark.parametrize("block", [1, 1000])
def test_same_text_outside_the_window_is_another_story_unless_undated(monkeypatch, block):
    monkeypatch.setattr(grouping, "BLOCK", block)  # one article a block: groups leave the window between them
    text = "Parliament votes on the harbour bridge budget after a long debate about tolls and ferries"
    rows = [(1, T0, text), (2, T0 + 3 * DAY, text), (3, T0 + 30 * DAY, text), (4, None, "Unrelated weather report")]
    result = grouping.group_articles(iter(_ordered(rows)), window_days=7, threshold=0.5)
    assert sorted(result.groups) == [[1, 2], [3], [4]]
    rows.append((5, None, text))  # undated: compared by text with everyone, so it joins both
    result = grouping.group_articles(iter(_ordered(rows)), window_days=7, threshold=0.5)
    assert sorted(result.groups) == [[1, 2, 3, 5], [4]]


def test_two_stories_of_one_week_sharing_one_similar_pair_stay_apart():
    rng = random.Random(3)
    story_a, story_b, shared = _words("alpha", 30), _words("beta", 30), _words("bridge", 12)
    rows = []
    for k in range(4):
        # Article 4 of one story and article 11 of the other also share a passage (as similar as
        # either is to its own story), the rest of the two stories nothing.
        rows.append((1 + k, T0 + k * DAY, " ".join(rng.sample(story_a, 24) + (shared if k == 3 else _words(f"a{k}f", 8)))))
        rows.append((11 + k, T0 + k * DAY + DAY / 2,
                     " ".join(rng.sample(story_b, 24) + (shared if k == 0 else _words(f"b{k}f", 8)))))
    rows = _ordered(rows)
    assert _single_linkage_joins(rows, 1, 14, 0.2)  # that one pair chained both stories before
    result = grouping.group_articles(iter(rows), window_days=7, threshold=0.2)
    assert sorted(result.groups) == [[1, 2, 3, 4], [11, 12, 13, 14]]


def test_a_chain_whose_ends_differ_is_not_one_story():
    start, middle_a, middle_b, end = _words("xa", 20), _words("ya", 8), _words("za", 8), _words("wa", 20)
    rows = [(1, T0, " ".join(start + middle_a)), (2, T0 + DAY, " ".join(middle_a + middle_b + _words("f", 6))),
            (3, T0 + 2 * DAY, " ".join(middle_b + end))]
    assert _single_linkage_joins(rows, 1, 3, 0.2)
    result = grouping.group_articles(iter(rows), window_days=7, threshold=0.2)
    assert not any({1, 3} <= set(g) for g in result.groups)
    assert sorted(map(len, result.groups)) == [1, 2]  # the middle joins the end it is closest to


def test_the_demo_outlets_are_one_story_among_other_events_of_the_same_week():
    """The five outlets of the demo corpus (three undated) at the default threshold, with the Wikinews
    events moved into the demo's week so that they compete for its articles."""
    demo, wikinews = records(DEMO), records(WIKINEWS)
    base = dt.datetime(2025, 9, 6, tzinfo=dt.UTC)
    rows = [(k, dt.datetime.fromisoformat(r["published"]).replace(tzinfo=dt.UTC) if r.get("published") else None,
             f"{r.get('title') or ''}\n{r['text']}") for k, r in enumerate(demo, 1)]
    rows += [(100 + k, base + DAY * (k % 7), f"{r['title']}\n{r['text']}") for k, r in enumerate(wikinews)]
    result = grouping.group_articles(iter(_ordered(rows)), window_days=7,
                                     threshold=stories_service.DEFAULTS["story_similarity"])
    assert [1, 2, 3, 4, 5] in result.groups
    assert sum(len(g) for g in result.groups if g[0] >= 100) == len(wikinews)


def test_thousands_of_copies_of_one_text_are_one_story_with_pairs_bounded_per_article(monkeypatch):
    monkeypatch.setattr(grouping, "BLOCK", 500)  # four blocks: the copies link across blocks too
    text = "Harbour bridge tolls rise again\nThe council voted for higher tolls on the harbour bridge and ferries"
    rng = random.Random(2)
    vocab = _words("w", 3000)
    # Other articles as many again (a word in every article is dropped by max_df, as by TfidfVectorizer).
    rows = [(k, T0 + dt.timedelta(minutes=k), text if k % 2 else " ".join(rng.sample(vocab, 20)))
            for k in range(4001)]
    result = grouping.group_articles(iter(rows), window_days=7, threshold=0.2)
    assert list(range(1, 4001, 2)) in result.groups
    assert result.pairs <= grouping.MAX_NEIGHBOURS * 2000  # every pair of them is 2M


def test_a_stream_out_of_date_order_is_refused():
    rows = [(1, T0 + DAY, "some words here"), (2, T0, "other words there")]
    with pytest.raises(ValueError, match="by date"):
        grouping.group_articles(iter(rows), window_days=7, threshold=0.5)
    with pytest.raises(ValueError, match="undated first"):
        grouping.group_articles(iter([(1, T0, "a b c"), (2, None, "d e f")]), window_days=7, threshold=0.5)


@pytest.mark.django_db
def test_recompute_written_in_rounds_keeps_story_ids_and_names(monkeypatch, tmp_path):
    monkeypatch.setattr(stories_service, "WRITE_GROUPS", 2)
    project = ProjectFactory()
    items = records(WIKINEWS)[:6]
    items += [{**items[0], "id": "copy-0", "title": "Copy"}, {**items[1], "id": "copy-1", "title": "Also"}]
    articles_import(project=project, source=write_jsonl(tmp_path / "a.jsonl", items), queue_preannotation=False,
                    queue_stories=False)
    first = stories_service.stories_recompute(project=project)
    assert first["articles"] == 8 and first["stories"] == 6 and first["multi_article_stories"] == 2

    def snapshot():
        return {ext: (story, name) for ext, story, name in Article.objects.filter(project=project)
                .values_list("external_id", "story_link__story_id", "story_link__story__name")}

    before = snapshot()
    assert before["copy-0"][0] == before[items[0]["id"]][0]
    assert before["copy-1"][1] == "Also"  # the shortest title names the story
    stories_service.stories_recompute(project=project)
    assert snapshot() == before
    assert Story.objects.filter(project=project).count() == 6
