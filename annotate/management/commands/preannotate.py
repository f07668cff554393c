from django.core.management.base import BaseCommand
from django.db import transaction

from annotate.celery import app as celery_app
from annotate.management.commands._project import project_by_slug
from annotate.models import PreannotationRun
from annotate.services.preannotation import preannotation_queue


class Command(BaseCommand):
    help = ("Queue spaCy pre-annotation (entities, quotations, speakers) for a project's articles: the "
            "pending ones, or all of them with --force (the model's old suggestions are replaced; human "
            "and imported spans are kept). Runs in-process when no Celery broker answers.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--force", action="store_true", help="redo articles already pre-annotated")

    def handle(self, *args, **opts):
        project = project_by_slug(opts["project"])
        with transaction.atomic():  # the chunks are sent when this commits
            run = preannotation_queue(project=project, force=opts["force"])
        if run is None:
            self.stdout.write("Nothing to pre-annotate (use --force to redo every article).")
            return
        run = PreannotationRun.objects.get(pk=run.pk)
        where = "in-process" if celery_app.conf.task_always_eager else "on the 'preannotate' queue"
        self.stdout.write(self.style.SUCCESS(
            f"Pre-annotation run {run.pk}: {run.total} articles in {run.chunks_total} chunks, {where}; "
            f"status {run.status}, {run.processed} processed, {run.failed} failed."))
