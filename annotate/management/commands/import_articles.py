from django.core.management.base import BaseCommand, CommandError

from annotate.errors import ImportRejected
from annotate.importing.readers import FORMATS
from annotate.management.commands._project import project_by_slug
from annotate.services.imports import articles_import


class Command(BaseCommand):
    help = ("Import articles (JSONL, CSV with a text column, a folder or zip of .txt files, doccano JSONL, "
            "Label Studio JSON). The whole file is validated first; nothing is written if any line is bad "
            "unless --skip-invalid is given.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files or folders to import")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid lines, list the others")
        parser.add_argument("--no-preannotate", action="store_true", help="do not queue pre-annotation")

    def handle(self, *args, **opts):
        project = project_by_slug(opts["project"])
        failed = False
        for path in opts["paths"]:
            try:
                report = articles_import(project=project, source=path, fmt=opts["format"],
                                         skip_invalid=opts["skip_invalid"],
                                         queue_preannotation=not opts["no_preannotate"])
            except ImportRejected as exc:
                failed = True
                self.stderr.write(self.style.ERROR(f"{path}: nothing imported."))
                for error in (exc.details or {}).get("errors", []):
                    self.stderr.write(f"  {error['text']}")
                if not (exc.details or {}).get("errors"):
                    self.stderr.write(f"  {exc.message}")
                more = (exc.details or {}).get("invalid_count", 0) - len((exc.details or {}).get("errors", []))
                if more > 0:
                    self.stderr.write(f"  … and more: {exc.details['invalid_count']} invalid records in all")
                continue
            self.stdout.write(self.style.SUCCESS(f"{path}: {report.summary()}"))
            for error in report.invalid:
                self.stdout.write(f"  skipped invalid {error['text']}")
            for skip in report.skipped:
                self.stdout.write(f"  skipped line {skip['line']} (id {skip['id']}): {skip['reason']}")
        if failed:
            raise CommandError("some files were rejected; fix the lines above or pass --skip-invalid")
