"""The quality bar of issue 3 on the five seed articles (trained pipeline)."""

import json
from pathlib import Path

import pytest

from annotate.nlp.extract import process_texts
from annotate.nlp.loading import get_pipeline
from tests.benchmarks.quote_eval import evaluate

DEMO = Path(__file__).resolve().parents[3] / "annotate" / "demo_data"


def test_seed_quotes_meet_the_quality_bar():
    pipeline = get_pipeline()
    if not pipeline.trained:
        pytest.skip("the trained pipeline is not installed")
    articles = [json.loads(line) for line in (DEMO / "seed_articles.jsonl").read_text().splitlines()]
    gold = [json.loads(line) for line in (DEMO / "seed_quotes.jsonl").read_text().splitlines()]
    predicted = {r.key: r.quotes for r in process_texts(pipeline, [(a["id"], a["text"]) for a in articles])}
    res = evaluate(gold, predicted)
    assert res["direct+partial"][2] >= 0.9
    right, total, _ = res["speaker_direct"]
    assert right / total >= 0.9
    assert res["scare_with_speaker"] == 0
