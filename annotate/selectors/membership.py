"""Who may do what in a project."""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.models import Membership, Project

ROLE_RANK = {
    Membership.Role.EXPORTER: 0, Membership.Role.ANNOTATOR: 1, Membership.Role.REVIEWER: 2, Membership.Role.ADMIN: 3,
}


def project_role(*, user, project: Project | int) -> str | None:
    """The user's role in the project (site superusers are admins everywhere), or None."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    project_id = project if isinstance(project, int) else project.pk
    cache = getattr(user, "_standpoint_roles", None)
    if cache is None:
        cache = user._standpoint_roles = {}
    if project_id not in cache:
        cache[project_id] = (
            Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()
        )
    return cache[project_id]


def projects_visible_to(*, user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()
