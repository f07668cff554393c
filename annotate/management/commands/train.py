"""`python manage.py train --project SLUG`: train a new suggestion-model version now, in this
process (the worker's task calls the same service), and print its metrics."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Project
from annotate.services.training import model_train


class Command(BaseCommand):
    help = "Train the project's stance and frame suggestion models from its gold and submitted annotations."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--no-activate", action="store_true", help="keep the current active version")

    def handle(self, *args, project: str, no_activate: bool, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"no project with slug {project!r}")
        row = model_train(project=found, trigger="command", activate=not no_activate)
        for key, why in row.untrained.items():
            self.stdout.write(f"not trained: {key}: {why}")
        if row.status != row.Status.READY:
            raise CommandError(f"model v{row.version} {row.status}: {row.error}")
        m = row.metrics
        for key, t in m.get("targets", {}).items():
            self.stdout.write(f"{key}: macro-F1 {t['macro_f1']}, F_avg {t['f_avg']} "
                              f"(majority baseline {t['baseline']['f_avg']}), n={t['n']}")
        self.stdout.write(self.style.SUCCESS(
            f"model v{row.version} ready{' and active' if not no_activate else ''}: trained on {row.train_size} "
            f"articles in {row.train_seconds} s; F_avg {m.get('f_avg')} vs baseline {m.get('baseline_f_avg')}"))
