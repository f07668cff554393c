"""OpenAPI documentation helpers: one error shape, documented on every operation."""

from __future__ import annotations

import inspect

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AND, IsAuthenticated, OperandHolder


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True, help_text="400: {field path: [messages]}; 409: {current: …}")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


ERROR_DESCRIPTIONS = {
    "400": "Invalid input: details map field paths (e.g. spans[2].end) to messages.",
    "401": "Not authenticated (missing or invalid token/session).",
    "403": "Authenticated, but your role may not do this (or CSRF token missing for a session).",
    "404": "Does not exist, or you may not see it (non-members never learn a project exists).",
    "409": "Conflict: stale version (details.current holds the current document), closed assignment, duplicate.",
    "415": "Unsupported media type: send JSON (uploads: multipart/form-data), with a body that parses as such.",
    "429": "Too many requests (token throttling).",
}
SAFE_ERRORS = ("401", "403", "404", "429")


class FastSessionScheme(SessionScheme):
    """Documents api.authentication.FastSessionAuthentication as the session cookie it reads."""

    target_class = "api.authentication.FastSessionAuthentication"


ROLE_ORDER = ("admin", "reviewer", "annotator", "exporter")


def _roles(permission, method: str) -> frozenset[str] | None:
    """The project roles a permission class lets through for `method`; None if it does not
    restrict by role (IsAuthenticated)."""
    from api.permissions import ProjectRole, ReadWrite  # (api.permissions imports the models)

    if isinstance(permission, OperandHolder) and permission.operator_class is AND:
        sides = [_roles(p, method) for p in (permission.op1_class, permission.op2_class)]
        sides = [r for r in sides if r is not None]
        return frozenset.intersection(*sides) if sides else None
    if isinstance(permission, type) and issubclass(permission, ReadWrite):
        return _roles(permission.read if method in ("GET", "HEAD") else permission.write, method)
    if isinstance(permission, type) and issubclass(permission, ProjectRole):
        return permission.roles
    if permission is IsAuthenticated:
        return None
    raise ValueError(f"describe {permission!r} in api.schema._roles")


def who_may_call(view, method: str) -> str:
    """One sentence for the docs: who may call this operation, and what others get. A view
    whose access is decided by its service (assignments) says so in `who` (text, or by method)."""
    own = getattr(view, "who", None)
    if isinstance(own, dict):
        own = own.get(method)
    if own:
        return own
    found = [r for r in (_roles(p, method) for p in view.permission_classes) if r is not None]
    if not found:
        return "any signed-in user."
    roles = frozenset.intersection(*found)
    names = [r for r in ROLE_ORDER if r in roles]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return (f"members of the project whose role is {listed} (site superusers too). Other members get 403; "
            "non-members get 404, as if the project did not exist.")


class StandpointAutoSchema(AutoSchema):
    """Adds the common error answers to every operation, so clients (and schemathesis) know
    every status code an endpoint may return, and says on every operation who may call it.
    Descriptions come from the view's own docstring or its handler's, never from a base class's
    (those explain code, not the endpoint)."""

    def get_description(self):
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        texts = [type(self.view).__dict__.get("__doc__"),
                 handler.__doc__ if handler is not None and handler.__module__.startswith("api.") else None]
        return "\n\n".join(inspect.cleandoc(t) for t in texts if t)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:  # (after extend_schema's own description, which replaces get_description)
            who = f"**Who may call:** {who_may_call(self.view, self.method)}"
            operation["description"] = "\n\n".join(p for p in (operation.get("description"), who) if p)
            self._document_filter_bounds(operation)
        return operation

    def _document_filter_bounds(self, operation) -> None:
        """django-filter's min_value/max_value (checked: 400 below or above them) as the
        parameters' minimum/maximum, so the schema says which values the code refuses."""
        filterset = getattr(self.view, "filterset_class", None)
        if filterset is None:
            return
        for parameter in operation.get("parameters", []):
            declared = filterset.base_filters.get(parameter["name"]) if parameter.get("in") == "query" else None
            if declared is None:
                continue
            for bound, key in (("min_value", "minimum"), ("max_value", "maximum")):
                if declared.extra.get(bound) is not None:
                    parameter.setdefault("schema", {})[key] = declared.extra[bound]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = SAFE_ERRORS if self.method in ("GET", "HEAD") else (*SAFE_ERRORS, "400", "409", "415")
        paginated = self._is_list_view() and getattr(self.view, "pagination_class", None) is not None
        if self.method in ("GET", "HEAD") and (getattr(self.view, "documents_400_on_get", False) or paginated):
            codes = (*codes, "400")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses


# Request objects whose unknown keys the code refuses (400 naming the key): the schema says so, so
# clients and schemathesis do not send keys that can only fail.
CLOSED_COMPONENTS = ("ExportOptions", "ExportSplit")


def closed_objects_hook(result, generator, request, public):
    for name in CLOSED_COMPONENTS:
        component = result.get("components", {}).get("schemas", {}).get(name)
        if component is not None:
            component["additionalProperties"] = False
    return result
