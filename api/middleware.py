"""Middleware for every answer (security headers) and for the API's requests."""

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware


class MessageMiddlewareExceptApi(MessageMiddleware):
    """Django's messages (admin and management pages) everywhere but under /api/: the API never
    shows any, and setting up the message storage was ~3% of an API request's CPU."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer; `Cache-Control: no-store` on API answers that do not
    say otherwise (they carry someone's annotations, tokens or datasets: no browser or proxy
    cache may keep them). A view that knows better sets its own Cache-Control (the export
    download: immutable, private, revalidated by ETag). Placed right after SecurityMiddleware so
    that it sees the final answer, error pages included."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if request.path_info.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
