from django.core.management.base import BaseCommand

from annotate.management.commands._project import project_by_slug
from annotate.selectors.stories import stories_list
from annotate.services.stories import duplicate_groups, stories_recompute


class Command(BaseCommand):
    help = ("Regroup a project's articles into stories now, in this process (manual stories are kept), "
            "then list the largest stories and near-duplicate groups.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--list-only", action="store_true", help="list without regrouping")
        parser.add_argument("--top", type=int, default=10, help="how many stories to list (default 10)")

    def handle(self, *args, **opts):
        project = project_by_slug(opts["project"])
        if not opts["list_only"]:
            result = stories_recompute(project=project)
            self.stdout.write(self.style.SUCCESS(
                f"{result['articles']} articles regrouped into {result['stories']} stories "
                f"({result['multi_article_stories']} with several articles, {result['undated']} undated articles "
                f"grouped by text alone, {result['pinned']} in manual stories kept) in {result['seconds']} s."))
        for story in stories_list(project=project, limit=opts["top"])["results"]:
            self.stdout.write(f"story {story['id']}: {story['articles']} articles, {story['outlets']} outlets"
                              f"{' (manual)' if story['manual'] else ''}: {story['name'] or '(no title)'}")
        groups = duplicate_groups(project=project)
        self.stdout.write(f"{len(groups)} near-duplicate groups"
                          + (f", the largest with {groups[0]['size']} articles" if groups else ""))
