"""Token authentication in one prepared statement (annotate.hotsql): every scripted request
pays for it, and DRF's ORM lookup (select_related user) cost ~0.5 ms of CPU on its own. Under
/projects/{project_id}/ the same statement also reads the caller's role and the project, which
the permission check and the view need next (one round trip instead of two).

Elsewhere (autosave, submit: most requests) a token seen in the last API_TOKEN_CACHE_SECONDS
is not looked up again by this process: one database round trip fewer per request. The price: a
deleted token or a deactivated user keeps working for at most that long in each web process.
The default, 0, turns the cache off."""

from __future__ import annotations

import copy
from time import monotonic

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotate.hotsql import Columns, fetch_one
from annotate.models import Membership, Project
from annotate.selectors.membership import PROJECT_COLUMNS, remember_role

_T = Columns(Token, "t")
_U = Columns(get_user_model(), "u")
MAX_ID = 2**62


# key -> (valid until (monotonic seconds), token, user). Per process; bounded by the number of tokens.
_recent: dict[str, tuple[float, Token, object]] = {}


def forget_tokens() -> None:
    """Empty this process's token cache (tests; a deployment waits API_TOKEN_CACHE_SECONDS)."""
    _recent.clear()


class FastTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (`Authorization: Token <key>`, same errors), looked up with
    one hand-written statement instead of the ORM."""

    project_id: int | None = None
    lock_caller = False

    def authenticate(self, request):
        context = getattr(request, "parser_context", None) or {}
        project_id = (context.get("kwargs") or {}).get("project_id")
        self.project_id = project_id if isinstance(project_id, int) and 0 < project_id <= MAX_ID else None
        # A view that serializes each caller's requests (the queue's `next`, in a transaction
        # already) has the caller's user row locked by this same statement: one round trip less.
        self.lock_caller = (getattr(context.get("view"), "locks_caller", False) and connection.in_atomic_block
                            and connection.features.has_select_for_update)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        ttl = settings.API_TOKEN_CACHE_SECONDS
        if self.project_id is None and ttl > 0:
            hit = _recent.get(key)
            if hit is not None and hit[0] > monotonic():
                user = copy.copy(hit[2])  # a fresh object per request: views attach per-request state
                user.__dict__.pop("_standpoint_roles", None)
                user.__dict__.pop("_standpoint_projects", None)
                return user, hit[1]
        base = (f'SELECT {_T.sql}, {_U.sql}{{role}} FROM {Token._meta.db_table} t '
                f'INNER JOIN {_U.model._meta.db_table} u ON u."id" = t."user_id"{{join}} WHERE t."key" = %s')
        if self.project_id is None:
            row = fetch_one(base.format(role="", join=""), [key])
        else:
            row = fetch_one(base.format(
                role=f', m."role", {PROJECT_COLUMNS.sql}',
                join=(f' LEFT OUTER JOIN {Membership._meta.db_table} m ON m."user_id" = u."id" AND m."project_id" = %s'
                      f' LEFT OUTER JOIN {Project._meta.db_table} p ON p."id" = m."project_id"'))
                + (" FOR UPDATE OF u" if self.lock_caller else ""),
                [self.project_id, key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, user = _T.load(row), _U.load(row, _T.width)
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if ttl > 0:
            if len(_recent) > 10_000:  # tokens come and go: never let the cache grow without bound
                _recent.clear()
            _recent[key] = (monotonic() + ttl, token, copy.copy(user))
        if self.lock_caller:
            user.locked_in_transaction = True  # see annotate.services.queue._lock_user
        if self.project_id is not None:
            offset = _T.width + _U.width
            remember_role(user=user, project_id=self.project_id, role=row[offset],
                          project=PROJECT_COLUMNS.load(row, offset + 1))
        return user, token
