"""`manage.py export --project SLUG --format jsonl|conll2003|conllu|spacy --out PATH [options]`.

Builds the export in this process through the same services as the REST API and the worker
(the job is recorded like any other, so it also shows up as a dataset version), then copies
the finished file to --out.
"""

from __future__ import annotations

import json
import shutil

from django.core.management.base import BaseCommand, CommandError

from annotate.errors import DomainError
from annotate.exports import format_choices
from annotate.management.commands._project import project_by_slug
from annotate.selectors.exports import export_file_path
from annotate.services.exports import export_build, export_request


def _split(value: str | None, seed: int) -> dict | None:
    if value is None:
        return None
    try:
        train, dev, test = (int(x) for x in value.split(","))
    except ValueError:
        raise CommandError("--split takes three percentages: TRAIN,DEV,TEST (e.g. 80,10,10)") from None
    return {"seed": seed, "train": train, "dev": dev, "test": test}


class Command(BaseCommand):
    help = "Export a project's dataset (JSONL, CoNLL-2003, CoNLL-U or spaCy DocBin) to a file."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", required=True, choices=format_choices())
        parser.add_argument("--out", required=True, help="where to write the file")
        parser.add_argument("--labels", choices=["annotators", "gold", "majority"], default="annotators")
        parser.add_argument("--include-drafts", action="store_true",
                            help="also unsubmitted annotations and articles nobody submitted")
        parser.add_argument("--published-from", help="YYYY-MM-DD (inclusive)")
        parser.add_argument("--published-to", help="YYYY-MM-DD (inclusive)")
        parser.add_argument("--targets", help="comma-separated target keys")
        parser.add_argument("--span-layer", choices=["entities", "quotes"], default="entities")
        parser.add_argument("--user-names", action="store_true", help="annotator user names instead of pseudonyms")
        parser.add_argument("--include-suggestions", action="store_true",
                            help="add the model/import suggestions as their own layer (never as labels)")
        parser.add_argument("--split", help="TRAIN,DEV,TEST percentages, e.g. 80,10,10")
        parser.add_argument("--seed", type=int, default=0, help="split seed")
        parser.add_argument("--options", help="options as a JSON object (overrides the flags)")

    def handle(self, *args, **opts):
        project = project_by_slug(opts["project"])
        options = {
            "labels": opts["labels"],
            "submitted_only": not opts["include_drafts"],
            "published_from": opts["published_from"],
            "published_to": opts["published_to"],
            "targets": opts["targets"].split(",") if opts["targets"] else None,
            "span_layer": opts["span_layer"],
            "user_names": opts["user_names"],
            "split": _split(opts["split"], opts["seed"]),
            "include_suggestions": opts["include_suggestions"],
        }
        if opts["options"]:
            options.update(json.loads(opts["options"]))
        try:
            job = export_request(project=project, format=opts["format"], options=options, enqueue=False)
        except DomainError as exc:
            raise CommandError(f"{exc.message} {json.dumps(exc.details) if exc.details else ''}".strip()) from exc
        job = export_build(export_id=job.pk)
        path = export_file_path(job) if job else None
        if path is None:
            raise CommandError(f"export {job.pk} {job.status}: {job.error}")
        shutil.copyfile(path, opts["out"])
        self.stdout.write(
            f"export {job.pk} ({job.format}): {job.counts.get('articles', 0)} articles → {opts['out']} "
            f"({job.size_bytes} bytes, sha256 {job.sha256})"
        )
        self.stdout.write(json.dumps(job.counts, sort_keys=True))
