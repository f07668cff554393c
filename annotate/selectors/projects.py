"""Project reads, scoped to what a user may see."""

from __future__ import annotations

from django.db.models import CharField, OuterRef, Prefetch, QuerySet, Subquery, Value

from annotate.models import Membership, Project, Target
from annotate.selectors.membership import projects_visible_to


def projects_with_role(*, user) -> QuerySet[Project]:
    """The user's projects, each annotated with `role` (superusers: admin everywhere) and with
    targets prefetched: one query for the page plus one for the targets."""
    if user.is_superuser:
        role = Value(Membership.Role.ADMIN, output_field=CharField())
    else:
        role = Subquery(Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1])
    return (
        projects_visible_to(user=user)
        .annotate(role=role)
        .prefetch_related(Prefetch("targets", queryset=Target.objects.order_by("position", "id")))
    )


def project_targets(*, project_id: int) -> QuerySet[Target]:
    return Target.objects.filter(project_id=project_id).order_by("position", "id")


def project_members(*, project_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(project_id=project_id).select_related("user").order_by("id")
