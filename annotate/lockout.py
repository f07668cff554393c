"""The login lockout backend (django-axes). Its own module: annotate.security is imported while
logging is configured, before the apps are ready, and axes' backend imports models."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login through a request (/login/, /admin/login/).
    authenticate() without a request (the test client's login(), a script) has no client address
    to lock out: it is let through to the password check instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
