"""Composable, project-scoped permissions (G4).

Non-members get 404, never 403: they cannot tell that a project exists. Members whose role is
too low get 403. Views name the project through the URL kwarg `project_id` (or `project_pk`),
or through `view.get_permission_project(obj)` for object-level checks.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from annotate.models import Membership, Project
from annotate.selectors.membership import project_role

Role = Membership.Role


def _project_from_view(view) -> int | None:
    for key in ("project_id", "project_pk"):
        if key in view.kwargs:
            try:
                return int(view.kwargs[key])
            except (TypeError, ValueError):
                raise NotFound() from None
    return None


def _project_of(obj) -> int | None:
    if isinstance(obj, Project):
        return obj.pk
    for attr in ("project_id", "article__project_id"):
        if hasattr(obj, attr):
            return getattr(obj, attr)
    if hasattr(obj, "article"):
        return obj.article.project_id
    if hasattr(obj, "assignment"):
        return obj.assignment.project_id
    return None


class ProjectRole(BasePermission):
    """Allows members whose role is in `roles`. Subclass per role set; combine with & and |."""

    roles: frozenset[str] = frozenset()

    def _check(self, request, project_id: int | None) -> bool:
        if project_id is None:
            return True  # not project-scoped at this level; the object check decides
        role = project_role(user=request.user, project=project_id)
        if role is None:
            raise NotFound()  # hide the project's existence from non-members
        return role in self.roles

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return self._check(request, _project_from_view(view))

    def has_object_permission(self, request, view, obj) -> bool:
        getter = getattr(view, "get_permission_project", None)
        project_id = getter(obj) if getter else _project_of(obj)
        return self._check(request, project_id)


class IsProjectAdmin(ProjectRole):
    roles = frozenset({Role.ADMIN})


class IsProjectReviewer(ProjectRole):
    """Reviewers and admins."""

    roles = frozenset({Role.ADMIN, Role.REVIEWER})


class IsProjectAnnotator(ProjectRole):
    roles = frozenset({Role.ANNOTATOR})


class IsProjectExporter(ProjectRole):
    """Read-only dataset access for ML engineers: exporters and admins."""

    roles = frozenset({Role.ADMIN, Role.EXPORTER})


class IsProjectMember(ProjectRole):
    roles = frozenset(Role.values)


class IsStaffToCreate(BasePermission):
    """Reads for anyone the other classes let in; POST (create a project) for staff users only,
    checked before the body is validated, so others learn nothing from field errors."""

    message = "Only staff users may create projects."

    def has_permission(self, request, view) -> bool:
        if request.method != "POST":
            return True
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


class ReadWrite(BasePermission):
    """`read` for safe methods, `write` otherwise. Subclass and set both, e.g.
    `class ProjectRead_AdminWrite(ReadWrite): read, write = IsProjectMember, IsProjectAdmin`."""

    read: type[BasePermission] = IsProjectMember
    write: type[BasePermission] = IsProjectAdmin

    def _pick(self, request) -> BasePermission:
        return (self.read if request.method in ("GET", "HEAD", "OPTIONS") else self.write)()

    def has_permission(self, request, view) -> bool:
        return self._pick(request).has_permission(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        return self._pick(request).has_object_permission(request, view, obj)


class MemberReadAdminWrite(ReadWrite):
    read, write = IsProjectMember, IsProjectAdmin


class ReviewerReadAdminWrite(ReadWrite):
    read, write = IsProjectReviewer, IsProjectAdmin


class IsProjectDataReader(ProjectRole):
    """Read access to a project's data (articles, annotations, stats): admins, reviewers, exporters."""

    roles = frozenset({Role.ADMIN, Role.REVIEWER, Role.EXPORTER})


class IsProjectWorker(ProjectRole):
    """May pull tasks from the queue: annotators, reviewers and admins (not exporters)."""

    roles = frozenset({Role.ADMIN, Role.REVIEWER, Role.ANNOTATOR})
