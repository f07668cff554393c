"""Find stored data that breaks reads (written before the input boundary, or around it)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotate.selectors.stored_poison import stored_poison
from annotate.services.data_repair import article_repair_unreadable

from ._project import project_by_slug


class Command(BaseCommand):
    help = ("Report stored values that the input boundary refuses today and that break reads: NUL or lone "
            "surrogates, JSON nested deeper than 64 levels, integers outside 64 bits, publication dates outside "
            "INPUT_MIN_YEAR–INPUT_MAX_YEAR, non-http(s) article urls, export split seeds out of range. "
            "Exits with status 1 when anything is found.")

    def add_arguments(self, parser):
        parser.add_argument("--project", help="only this project (slug)")
        parser.add_argument("--fix", action="store_true",
                            help="clear article urls that are not http(s) and publication dates out of range "
                                 "(nothing else is changed: every other finding needs a person to decide)")

    def handle(self, *args, project=None, fix=False, **options):
        scope = project_by_slug(project) if project else None
        findings = list(stored_poison(project=scope))
        for finding in findings:
            self.stdout.write(str(finding))
        fixed = 0
        if fix:
            repairs: dict[int, set[str]] = {}
            for f in findings:
                if f.fixable and f.model == "article":
                    repairs.setdefault(f.pk, set()).add(f.field)
            for article_id, fields in repairs.items():
                article_repair_unreadable(article_id=article_id, url="url" in fields,
                                          published="published" in fields)
                fixed += len(fields)
                self.stdout.write(f"fixed article {article_id}: cleared {', '.join(sorted(fields))}")
        left = len(findings) - fixed
        if left:
            fixable = sum(f.fixable for f in findings) - fixed
            hint = f"; {fixable} can be cleared with --fix" if fixable else ""
            raise CommandError(f"{len(findings)} problem(s) found, {left} left{hint}")
        self.stdout.write(self.style.SUCCESS(
            f"{len(findings)} problem(s) found, {fixed} fixed" if findings else "no stored data that breaks reads"))
