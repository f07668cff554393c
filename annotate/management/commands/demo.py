from django.core.management.base import BaseCommand

from annotate.services.demo import demo_load


class Command(BaseCommand):
    help = "Create the demo project 'Foreign troops in Ukraine' with its articles and users (safe to re-run)."

    def handle(self, *args, **opts):
        result = demo_load()
        verb = "Created" if result.created_project else "Already had"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo project '{result.project.name}' ({result.project.slug})"))
        if result.import_report:
            self.stdout.write(f"  articles: {result.import_report.summary()}")
        if result.new_credentials:
            self.stdout.write(self.style.WARNING("  New demo users (shown once; also in var/demo_credentials.txt):"))
            for username, password in result.new_credentials.items():
                self.stdout.write(f"    {username:<11} {password}")
        else:
            self.stdout.write("  demo users already exist (passwords unchanged; see var/demo_credentials.txt)")
