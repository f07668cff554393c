"""Invite a new user to a project: the account (no usable password yet), the membership, and a
one-time link to set a password (Django's password-reset tokens: the link dies once the password
is set, or after PASSWORD_RESET_TIMEOUT seconds)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from annotate.errors import PermissionDeniedError, ValidationFailed
from annotate.models import Membership, Project
from annotate.services.audit import audit_record
from annotate.services.memberships import membership_create

# Reviewers bring in the people who do the work; making someone an admin or a reviewer stays
# with the project's admins.
ROLES_BY_INVITER = {
    Membership.Role.ADMIN: set(Membership.Role.values),
    Membership.Role.REVIEWER: {Membership.Role.ANNOTATOR, Membership.Role.EXPORTER},
}


def invite_link_path(user) -> str:
    """A fresh one-time path for `user` to set their password (valid until it is used or expires)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("frontend:invite", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


def invite_expires_at() -> datetime:
    return timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def user_invite(*, project: Project, inviter_role: str, username: str, role: str, email: str = "",
                by=None) -> tuple[object, str]:
    """Create `username` with `role` in `project`; returns the user and the invite link's path.
    Audited (user.invite, and membership.create by the membership service)."""
    User = get_user_model()
    username = (username or "").strip()
    email = (email or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["a username is required"]
    else:
        max_length = User._meta.get_field(User.USERNAME_FIELD).max_length
        try:
            User.username_validator(username)
            if len(username) > max_length:
                raise ValidationError(f"at most {max_length} characters")
        except ValidationError as e:
            errors["username"] = [str(m) for m in e.messages]
        else:
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = ["a user with this name exists already: add them on the Members tab"]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["not an email address"]
    if role not in Membership.Role.values:
        errors["role"] = [f"must be one of {', '.join(Membership.Role.values)}"]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", details=errors)
    if role not in ROLES_BY_INVITER.get(inviter_role, set()):
        raise PermissionDeniedError(f"role: a project {inviter_role} cannot invite someone as {role}",
                                    details={"role": [f"{inviter_role}s may invite as: "
                                                      + ", ".join(sorted(ROLES_BY_INVITER.get(inviter_role, ())))]})
    with transaction.atomic():
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        membership_create(project=project, username=username, role=role, by=by)
        audit_record(project=project, by=by, action="user.invite", obj=user, object_type="user",
                     after={"username": username, "email": email, "role": role})
    return user, invite_link_path(user)
