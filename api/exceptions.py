"""One error shape for the whole API: {"error": {"code", "message", "details"}} (G14)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotate.errors import DomainError


def error_response(code: str, message: str, details=None, http_status: int = 400, headers=None) -> Response:
    return Response({"error": {"code": code, "message": message, "details": details}},
                    status=http_status, headers=headers)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors ({"spans": {2: {"end": [...]}}}) as field paths ({"spans[2].end": [...]}),
    the same shape the services use, so clients handle one format."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update({k: out.get(k, []) + v for k, v in flatten_errors(value, path).items()})
    elif isinstance(detail, list) and detail and all(isinstance(d, dict | list) for d in detail):
        for i, value in enumerate(detail):
            out.update(flatten_errors(value, f"{prefix}[{i}]"))
    elif isinstance(detail, list):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.details, exc.http_status)
    if isinstance(exc, RequestDataTooBig):  # DATA_UPLOAD_MAX_MEMORY_SIZE: otherwise Django's HTML 400
        return error_response("too_large", "The request body is larger than the server accepts "
                              f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes).", http_status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = flatten_errors(exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail})
        response.data = {"error": {"code": "invalid", "message": _first_message(details), "details": details}}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = "error"
    detail = getattr(exc, "detail", str(exc))
    response.data = {"error": {"code": code, "message": _first_message(detail), "details": None}}
    return response
