"""What an error page or a lockout may know about the caller and the server.

Django's technical 500 page (DEBUG=True) lists the settings, the request's META (under runserver
that is the whole process environment) and every frame's variables; its default filter hides
names that look secret (PASSWORD, KEY, TOKEN…) but not a URL that carries its password
(REDIS_URL, CELERY_BROKER_URL, DATABASE_URL, CACHE_URL). The filter and reporter here take the
credentials out of every URL-shaped string, in DEBUG and out of it (the 500 e-mails and logs
use the same filter).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK = "********"
# scheme://user:password@  or  scheme://token@ : the userinfo part of any URL.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^\s/@?#'\"<>]+)@")


def _mask_userinfo(match: re.Match) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"


def mask_credentials(text: str) -> str:
    """`text` with the password of every URL in it replaced (`redis://:pw@h` → `redis://:********@h`)."""
    return _USERINFO.sub(_mask_userinfo, text) if "@" in text else text


def _masked(value):
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    return value


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter, always active (also with DEBUG on), which also masks URL credentials in
    settings, request.META and frame variables."""

    def is_active(self, request) -> bool:
        return True

    def cleanse_setting(self, key, value):
        return _masked(super().cleanse_setting(key, value))

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, _masked(value)) for name, value in super().get_traceback_frame_variables(request, tb_frame)]


class CredentialMaskingReporter(ExceptionReporter):
    """The last line of defence: whatever reached the rendered page (an exception message such as
    "Error connecting to redis://:pw@…", an object's repr) loses its URL credentials too."""

    def get_traceback_html(self):
        return mask_credentials(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return mask_credentials(str(super().get_traceback_text()))


def client_ip(request) -> str | None:
    """The caller's address for lockouts and rate limits. Behind a proxy (BEHIND_PROXY) the last
    X-Forwarded-For hop, the one our proxy appended (earlier hops are whatever the client sent)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.rsplit(",", 1)[-1].strip() or None
    return request.META.get("REMOTE_ADDR")

