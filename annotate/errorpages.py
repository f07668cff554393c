"""The site's 400/403/404/500 answers (settings.DEBUG off): plain pages for people, the API's
error shape under /api/. Neither says anything about the URL patterns or the server."""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults

_API = "/api/"


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": None}}, status=status)


def bad_request(request, exception=None):
    if request.path_info.startswith(_API):
        from django.core.exceptions import RequestDataTooBig

        if isinstance(exception, RequestDataTooBig):
            return _api_error("too_large", "The request body is larger than the server accepts.", 413)
        return _api_error("bad_request", "Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path_info.startswith(_API):
        return _api_error("permission_denied", "You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if request.path_info.startswith(_API):
        return _api_error("not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path_info.startswith(_API):
        return _api_error("server_error", "Internal server error; it has been logged.", 500)
    return defaults.server_error(request)
