"""What several management commands share."""

from django.core.management.base import CommandError

from annotate.models import Project


def project_by_slug(slug: str) -> Project:
    """The project named by `--project`, or a CommandError that names the slug."""
    try:
        return Project.objects.get(slug=slug)
    except Project.DoesNotExist:
        raise CommandError(f"no project with slug {slug!r}") from None
