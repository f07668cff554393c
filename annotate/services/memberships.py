"""Project membership writes (admins manage who has which role)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from annotate.errors import Conflict, ValidationFailed
from annotate.models import Membership, Project
from annotate.services.audit import audit_record


def _snapshot(membership: Membership) -> dict:
    return {"user": membership.user.get_username(), "user_id": membership.user_id, "role": membership.role}


def membership_create(*, project: Project, username: str, role: str, by=None) -> Membership:
    """Add a member (audited: membership.create)."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationFailed(f"user: no user named {username!r}", details={"user": [f"no user named {username!r}"]})
    if role not in Membership.Role.values:
        raise ValidationFailed(f"role: {role!r} is not a role", details={"role": ["not a role"]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=project, user=user, role=role)
            audit_record(project=project, by=by, action="membership.create", obj=membership,
                         after=_snapshot(membership))
            return membership
    except IntegrityError:
        raise Conflict(f"user: {username!r} is already a member of this project",
                       details={"user": ["already a member"]}) from None


def membership_update(*, membership: Membership, role: str, by=None) -> Membership:
    """Change a member's role (audited: membership.update). The last admin of a project cannot be
    demoted (the project would become unmanageable except by superusers)."""
    if role not in Membership.Role.values:
        raise ValidationFailed(f"role: {role!r} is not a role", details={"role": ["not a role"]})
    with transaction.atomic():
        if membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN:
            _ensure_other_admin(membership)
        before = _snapshot(membership)
        membership.role = role
        membership.save(update_fields=["role"])
        if before["role"] != role:
            audit_record(project=membership.project_id, by=by, action="membership.update", obj=membership,
                         before=before, after=_snapshot(membership))
    return membership


def membership_delete(*, membership: Membership, by=None) -> None:
    """Remove a member (audited: membership.delete; the event keeps the username). The last
    admin cannot be removed."""
    with transaction.atomic():
        if membership.role == Membership.Role.ADMIN:
            _ensure_other_admin(membership)
        audit_record(project=membership.project_id, by=by, action="membership.delete", obj=membership,
                     before=_snapshot(membership))
        membership.delete()


def _ensure_other_admin(membership: Membership) -> None:
    others = Membership.objects.filter(project_id=membership.project_id, role=Membership.Role.ADMIN).exclude(
        pk=membership.pk)
    if not others.exists():
        raise Conflict("role: a project needs at least one admin", details={"role": ["last admin"]})
