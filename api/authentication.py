"""Token and session authentication with hand-written statements (annotate.hotsql): every
request pays for it. DRF's token lookup (select_related user) cost ~0.5 ms of CPU on its own;
Django's session and user lookups for the web UI ~2 ms, as much as the rest of an autosave (the
session is read by annotate.sessions, the user here).
Under /projects/{project_id}/ the statement that reads the user also reads the caller's role and
the project, which the permission check and the view need next (one round trip instead of two).

Tokens are stored hashed (annotate.models.ApiToken): the key in the header is hashed and the
hash looked up; its last use is written at most once a minute (annotate.services.api_tokens).

Elsewhere (autosave, submit: most requests) a token seen in the last API_TOKEN_CACHE_SECONDS
is not looked up again by this process: one database round trip fewer per request. A revoked
token is dropped from every process's copy at once (a revocation counter in the shared cache,
read on each cached hit); a deactivated user keeps working for at most that long in each web
process. The default, 0, turns the cache off.

Failed token authentications are counted per client IP in the cache (API_TOKEN_FAILURE_LIMIT per
API_TOKEN_FAILURE_WINDOW seconds); past the limit that IP gets 429 on token requests, valid token
or not, until the window ends, so a token cannot be guessed at speed. A successful request costs
one look at a per-process dict that is empty unless some IP is locked out."""

from __future__ import annotations

import copy
import logging
import math
import time
from time import monotonic

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.cache import cache
from django.db import connection
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from annotate.hotsql import Columns, fetch_one
from annotate.models import ApiToken, Membership, Project
from annotate.security import client_ip
from annotate.selectors.membership import PROJECT_COLUMNS, remember_role
from annotate.services.api_tokens import key_hash, revocations_seen, token_mark_used

log = logging.getLogger("standpoint.security")

_T = Columns(ApiToken, "t")
_U = Columns(get_user_model(), "u")
MAX_ID = 2**62


# key hash -> (valid until (monotonic seconds), revocation count when cached, token, user). Per
# process; bounded by the number of tokens.
_recent: dict[str, tuple[float, int, ApiToken, object]] = {}


# ip -> locked until (time.time()). Per process, filled when this process sees a failure past the
# limit (the count itself is in the shared cache); empty in normal operation.
_locked_out: dict[str, float] = {}


def forget_tokens() -> None:
    """Empty this process's token cache and lockouts (tests; a deployment waits them out)."""
    _recent.clear()
    _locked_out.clear()


def forget_cached_tokens() -> None:
    """Drop this process's cached tokens (a token was revoked; other processes see the counter)."""
    _recent.clear()


def _refuse_if_locked_out(ip: str | None) -> None:
    until = _locked_out.get(ip)
    if until is None:
        return
    now = time.time()
    if until <= now:
        _locked_out.pop(ip, None)
        return
    raise exceptions.Throttled(wait=math.ceil(until - now),
                               detail="Too many failed token authentications from your address; try again later.")


def _count_failure(ip: str | None) -> None:
    """One more failed token from `ip` in this window (fixed windows, like api.throttling); past
    the limit, lock `ip` out in this process until the window ends and answer 429."""
    limit, window = settings.API_TOKEN_FAILURE_LIMIT, settings.API_TOKEN_FAILURE_WINDOW
    if ip is None or limit <= 0 or window <= 0:
        return
    now = time.time()
    slot = int(now // window)
    key = f"token-failures:{ip}:{slot}"
    cache.add(key, 0, timeout=window + 1)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        failures = 1
    if failures <= limit:
        return
    if len(_locked_out) > 10_000:  # a botnet's worth of addresses: never grow without bound
        _locked_out.clear()
    first = ip not in _locked_out
    _locked_out[ip] = (slot + 1) * window
    if first:
        log.warning("token authentication: %d failures from %s within %ds; refused until the window ends",
                    failures, ip, window)
    _refuse_if_locked_out(ip)


class CallerContext:
    """What the view needs read along with the caller: the role and project when the URL names
    a project, and the caller's row locked when the view asks for it (`locks_caller`)."""

    project_id: int | None = None
    lock_caller = False

    def read_context(self, request) -> None:
        context = getattr(request, "parser_context", None) or {}
        project_id = (context.get("kwargs") or {}).get("project_id")
        self.project_id = project_id if isinstance(project_id, int) and 0 < project_id <= MAX_ID else None
        # A view that serializes each caller's requests (the queue's `next`, in a transaction
        # already) has the caller's user row locked by this same statement: one round trip less.
        self.lock_caller = (getattr(context.get("view"), "locks_caller", False) and connection.in_atomic_block
                            and connection.features.has_select_for_update)

    def caller_sql(self, select: str, source: str, where: str) -> tuple[str, list]:
        """The statement: `select` columns, then the user's, then (with a project) role and
        project; its parameters start with the project's id."""
        if self.project_id is None:
            return f"SELECT {select}{_U.sql} FROM {source} WHERE {where}", []
        return (f'SELECT {select}{_U.sql}, m."role", {PROJECT_COLUMNS.sql} FROM {source} '
                f'LEFT OUTER JOIN {Membership._meta.db_table} m ON m."user_id" = u."id" AND m."project_id" = %s '
                f'LEFT OUTER JOIN {Project._meta.db_table} p ON p."id" = m."project_id" WHERE {where}'
                + (" FOR UPDATE OF u" if self.lock_caller else "")), [self.project_id]

    def caller_loaded(self, row, offset: int):
        """The user in `row` from `offset`, with what came along recorded on it."""
        user = _U.load(row, offset)
        if self.lock_caller:
            user.locked_in_transaction = True  # see annotate.services.queue._lock_user
        if self.project_id is not None:
            offset += _U.width
            remember_role(user=user, project_id=self.project_id, role=row[offset],
                          project=PROJECT_COLUMNS.load(row, offset + 1))
        return user


class FastTokenAuthentication(CallerContext, TokenAuthentication):
    """DRF's TokenAuthentication (`Authorization: Token <key>`, same errors), looked up with
    one hand-written statement instead of the ORM."""

    django_request = None

    def authenticate(self, request):
        self.read_context(request)
        self.django_request = request._request  # its address is read only on a failure or a lockout
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            # Malformed headers ("Token a b") count as failures too; a locked-out IP gets 429.
            _count_failure(client_ip(self.django_request))
            raise

    def authenticate_credentials(self, key):
        if _locked_out and self.django_request is not None:
            _refuse_if_locked_out(client_ip(self.django_request))
        ttl = settings.API_TOKEN_CACHE_SECONDS
        digest = key_hash(key)
        if self.project_id is None and ttl > 0:
            hit = _recent.get(digest)
            if hit is not None and hit[0] > monotonic():
                if hit[1] == revocations_seen():
                    user = copy.copy(hit[3])  # a fresh object per request: views attach per-request state
                    user.__dict__.pop("_standpoint_roles", None)
                    user.__dict__.pop("_standpoint_projects", None)
                    return user, hit[2]
                _recent.clear()  # some token was revoked somewhere: look every one up again
        sql, params = self.caller_sql(f"{_T.sql}, ", f'{ApiToken._meta.db_table} t INNER JOIN '
                                      f'{_U.model._meta.db_table} u ON u."id" = t."user_id"', 't."key_hash" = %s')
        row = fetch_one(sql, [*params, digest])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, user = _T.load(row), self.caller_loaded(row, _T.width)
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token_mark_used(token=token)
        if ttl > 0:
            if len(_recent) > 10_000:  # tokens come and go: never let the cache grow without bound
                _recent.clear()
            cached = copy.copy(user)
            for attr in ("_standpoint_roles", "_standpoint_projects", "locked_in_transaction"):
                cached.__dict__.pop(attr, None)
            _recent[digest] = (monotonic() + ttl, revocations_seen(), token, cached)
        return user, token


_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class FastSessionAuthentication(CallerContext, SessionAuthentication):
    """DRF's SessionAuthentication (the web UI: the session cookie; CSRF enforced on writes),
    with the user (and role and project) read by one hand-written statement instead of
    Django's lazy ORM lookup. The session itself comes from SESSION_ENGINE (annotate.sessions).
    Same rules as django.contrib.auth.get_user: a configured backend, an active user, a session
    auth hash that matches the current password. Anything else (another auth backend, a hash
    that only matches a fallback secret) takes Django's own path."""

    def authenticate(self, request):
        session = getattr(request._request, "session", None)
        if session is None:
            return super().authenticate(request)
        user_id = session.get(SESSION_KEY)
        if user_id is None:
            return None  # not signed in
        if session.get(BACKEND_SESSION_KEY) != _MODEL_BACKEND or _MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
            return super().authenticate(request)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        if not 0 < user_id <= MAX_ID:
            return None
        self.read_context(request)
        sql, params = self.caller_sql("", f"{_U.model._meta.db_table} u", 'u."id" = %s')
        row = fetch_one(sql, [*params, user_id])
        if row is None:
            return None
        user = self.caller_loaded(row, 0)
        if not user.is_active:  # ModelBackend.get_user refuses them: anonymous
            return None
        if not constant_time_compare(session.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()):
            return super().authenticate(request)  # flushed, or re-keyed after a secret rotation
        request._request.user = user
        self.enforce_csrf(request)
        return user, None
