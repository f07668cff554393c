"""Domain errors raised by services; api.exceptions maps them once to HTTP answers (G14)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    http_status = 400
    code = "domain_error"

    def __init__(self, message: str, *, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(DomainError):
    http_status, code = 400, "invalid"


class EmptySelection(ValidationFailed):
    """A request whose filters select nothing (an export of no article): said, not an empty file."""

    code = "empty_selection"


class NotFound(DomainError):
    http_status, code = 404, "not_found"


class PermissionDeniedError(DomainError):
    http_status, code = 403, "permission_denied"


class NotAssigned(DomainError):
    http_status, code = 403, "not_assigned"


class StaleWrite(DomainError):
    """The write was based on an older version; `details` carries the current state."""

    http_status, code = 409, "stale_write"


class Conflict(DomainError):
    http_status, code = 409, "conflict"


class AssignmentClosed(DomainError):
    http_status, code = 409, "assignment_closed"


class ImportRejected(DomainError):
    """The whole file was refused; `details` is the per-line report."""

    http_status, code = 400, "import_rejected"
