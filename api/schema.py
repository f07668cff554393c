"""OpenAPI documentation helpers: one error shape, documented on every operation."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


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


class StandpointAutoSchema(AutoSchema):
    """Adds the common error answers to every operation, so clients (and schemathesis) know
    every status code an endpoint may return."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = SAFE_ERRORS if self.method in ("GET", "HEAD") else (*SAFE_ERRORS, "400", "409", "415")
        if self.method in ("GET", "HEAD") and getattr(self.view, "documents_400_on_get", False):
            codes = (*codes, "400")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses
