import time

from django.core.management.base import BaseCommand
from django.db import transaction

from annotate.management.commands._project import project_by_slug
from annotate.services.token_layers import (
    ANALYSE_CHUNK,
    token_layers_analyse,
    token_layers_needing_analysis,
    token_layers_queue,
    token_layers_status,
)


class Command(BaseCommand):
    help = ("Store the token layer (tokens, sentences, tags) of a project's articles, so that CoNLL and "
            "DocBin exports need no spaCy run. Only articles without a valid layer for SPACY_MODEL are "
            "analysed (all with --force); chunked and resumable: interrupt it and run it again.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--force", action="store_true", help="recompute every article's layer")
        parser.add_argument("--queue", action="store_true",
                            help="send the chunks to Celery workers (queue 'preannotate') instead of running here")
        parser.add_argument("--status", action="store_true", help="only report how many articles have a layer")
        parser.add_argument("--chunk", type=int, default=ANALYSE_CHUNK, help="articles per chunk")

    def handle(self, *args, **opts):
        project = project_by_slug(opts["project"])
        status = token_layers_status(project=project)
        self.stdout.write(f"{project.slug}: {status.valid} of {status.articles} articles have a token layer "
                          f"for {status.pipeline}")
        if opts["status"]:
            return
        if opts["queue"]:
            with transaction.atomic():
                n = token_layers_queue(project=project, force=opts["force"])
            self.stdout.write(self.style.SUCCESS(f"Queued {n} articles on the 'preannotate' queue; "
                                                 f"follow with --status."))
            return
        ids = token_layers_needing_analysis(project=project, force=opts["force"])
        if not ids:
            self.stdout.write("Nothing to analyse (use --force to recompute every layer).")
            return
        size = max(1, opts["chunk"])
        started = time.monotonic()
        done = 0
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            result = token_layers_analyse(article_ids=chunk, force=opts["force"])
            done += len(chunk)
            rate = done / max(time.monotonic() - started, 1e-6)
            self.stdout.write(f"  {done}/{len(ids)} articles ({100 * done / len(ids):.0f}%), "
                              f"{result['analysed']} analysed in this chunk, {rate:.1f} articles/s")
            self.stdout.flush()
        status = token_layers_status(project=project)
        self.stdout.write(self.style.SUCCESS(
            f"Done: {status.valid} of {status.articles} articles have a token layer for {status.pipeline}."))
