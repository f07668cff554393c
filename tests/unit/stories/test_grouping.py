"""Story grouping by date window, streamed in blocks: the same stories as comparing every pair."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from annotate.models import Article, Story
from annotate.services import stories as stories_service
from annotate.services.imports import articles_import
from annotate.stories import grouping
from tests.factories import ProjectFactory

from .corpus import WIKINEWS, records, write_jsonl

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


def _reference(rows, *, window_days, threshold) -> list[list[int]]:
    """Every pair compared, over one TF-IDF matrix of the whole corpus (the definition)."""
    vectoriser = TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5,
                                 token_pattern=r"(?u)\b[^\W\d_][\w'’-]+\b")
    matrix = vectoriser.fit_transform([t[:grouping.MAX_CHARS] for _, _, t in rows])
    sims = (matrix @ matrix.T).toarray() >= threshold
    for i, (_, a, _) in enumerate(rows):
        for j, (_, b, _) in enumerate(rows):
            if a is not None and b is not None and abs((a - b).total_seconds()) > window_days * 86400:
                sims[i, j] = False
    _, labels = connected_components(sims, directed=False)
    groups: dict[int, list[int]] = {}
    for (pk, _, _), label in zip(rows, labels, strict=True):
        groups.setdefault(label, []).append(pk)
    return sorted(sorted(g) for g in groups.values())


@pytest.mark.parametrize("block", [7, 1000])
def test_blocks_and_window_give_the_stories_of_comparing_every_pair(monkeypatch, block):
    monkeypatch.setattr(grouping, "BLOCK", block)
    rows = _corpus()
    result = grouping.group_articles(iter(_ordered(rows)), window_days=2, threshold=0.15)
    assert sorted(result.groups) == _reference(rows, window_days=2, threshold=0.15)
    assert len({len(g) for g in result.groups}) > 1  # the corpus does make multi-article stories
    assert sorted(result.undated.tolist()) == sorted(pk for pk, published, _ in rows if published is None)


def test_same_text_outside_the_window_is_another_story_unless_undated():
    text = "Parliament votes on the harbour bridge budget after a long debate about tolls and ferries"
    rows = [(1, T0, text), (2, T0 + 3 * DAY, text), (3, T0 + 30 * DAY, text), (4, None, "Unrelated weather report")]
    result = grouping.group_articles(iter(_ordered(rows)), window_days=7, threshold=0.5)
    assert sorted(result.groups) == [[1, 2], [3], [4]]
    rows.append((5, None, text))  # undated: compared by text with everyone, so it joins both
    result = grouping.group_articles(iter(_ordered(rows)), window_days=7, threshold=0.5)
    assert sorted(result.groups) == [[1, 2, 3, 5], [4]]


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
