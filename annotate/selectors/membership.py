"""Who may do what in a project."""

from __future__ import annotations

from django.db.models import QuerySet

from annotate.hotsql import Columns, fetch_one
from annotate.models import Membership, Project

_P = PROJECT_COLUMNS = Columns(Project, "p")

ROLE_RANK = {
    Membership.Role.EXPORTER: 0, Membership.Role.ANNOTATOR: 1, Membership.Role.REVIEWER: 2, Membership.Role.ADMIN: 3,
}


def project_role(*, user, project: Project | int) -> str | None:
    """The user's role in the project (site superusers are admins everywhere), or None.
    Remembered on the user object for the request, with the project row (`project_cached`):
    a project-scoped API request checks the role and then needs the project, in one query."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    project_id = project if isinstance(project, int) else project.pk
    cache = getattr(user, "_standpoint_roles", None)
    if cache is None:
        cache = user._standpoint_roles = {}
    if project_id not in cache:
        row = fetch_one(
            f'SELECT m."role", {_P.sql} FROM {Membership._meta.db_table} m '
            f'INNER JOIN {Project._meta.db_table} p ON p."id" = m."project_id" '
            f'WHERE m."user_id" = %s AND m."project_id" = %s', [user.pk, project_id])
        cache[project_id] = row[0] if row else None
        if row is not None:
            _projects(user)[project_id] = _P.load(row, 1)
    return cache[project_id]


def remember_role(*, user, project_id: int, role: str | None, project: Project | None) -> None:
    """Record what `project_role` would find (a caller that read the membership with something
    else in the same statement, e.g. token authentication)."""
    roles = getattr(user, "_standpoint_roles", None)
    if roles is None:
        roles = user._standpoint_roles = {}
    roles[project_id] = role
    if project is not None:
        _projects(user)[project_id] = project


def _projects(user) -> dict[int, Project]:
    found = getattr(user, "_standpoint_projects", None)
    if found is None:
        found = user._standpoint_projects = {}
    return found


def project_cached(*, user, project_id: int) -> Project | None:
    """The project row loaded by `project_role` for this user in this request, if any."""
    return getattr(user, "_standpoint_projects", {}).get(project_id)


def projects_visible_to(*, user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()
