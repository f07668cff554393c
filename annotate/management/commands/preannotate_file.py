import json
import sys
from itertools import islice
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.nlp.extract import process_texts
from annotate.nlp.loading import get_pipeline

# Articles read, processed and written per step: memory stays bounded whatever the file size.
READ_BATCH = 200


class Command(BaseCommand):
    help = ("Pre-annotate a JSONL file of articles (import format) without the database. Writes one line "
            'per article: {"id", "entities": [...], "quotes": [{"start","end","text","kind","speaker",'
            '"speaker_span"}], "error"}; offsets are code points into the article text. Same code path '
            "as the server.")

    def add_arguments(self, parser):
        parser.add_argument("input", help="articles JSONL (one object with a 'text' per line); - for stdin")
        parser.add_argument("output", help="output JSONL; - for stdout")
        parser.add_argument("--model", default=None, help="SPACY_MODEL override (package name or path)")

    def handle(self, *args, **opts):
        src = sys.stdin if opts["input"] == "-" else None
        if src is None and not Path(opts["input"]).exists():
            raise CommandError(f"{opts['input']}: no such file")
        pipeline = get_pipeline(opts["model"])
        if not pipeline.trained:
            self.stderr.write(self.style.WARNING(f"rule-only pipeline: {pipeline.fallback_reason}"))
        src = src or open(opts["input"], encoding="utf-8")  # noqa: SIM115 - closed below
        out = sys.stdout if opts["output"] == "-" else open(opts["output"], "w", encoding="utf-8")  # noqa: SIM115
        counts = {"articles": 0, "failed": 0, "entities": 0, "quotes": 0}
        try:
            items = self._items(src)
            while batch := list(islice(items, READ_BATCH)):
                with pipeline.nlp.memory_zone():
                    for result in process_texts(pipeline, batch):
                        row = {"id": result.key, "entities": result.entities, "quotes": result.quotes,
                               "error": result.error}
                        out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                        counts["articles"] += 1
                        counts["failed"] += bool(result.error)
                        counts["entities"] += len(result.entities)
                        counts["quotes"] += len(result.quotes)
        finally:
            if src is not sys.stdin:
                src.close()
            if out is not sys.stdout:
                out.close()
        self.stderr.write(
            f"{counts['articles']} articles ({counts['failed']} failed), {counts['entities']} entities, "
            f"{counts['quotes']} quotes with {pipeline.label}")

    def _items(self, src):
        for n, line in enumerate(src, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CommandError(f"line {n}: not JSON: {exc}") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise CommandError(f"line {n}: text: required string")
            yield record.get("id", f"line-{n}"), record["text"]
