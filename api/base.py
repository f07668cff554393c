"""Base classes shared by the API's feature modules."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from annotate.models import Project
from annotate.selectors.membership import project_cached
from api.authentication import FastSessionAuthentication, FastTokenAuthentication
from api.parsers import BoundaryJSONParser
from api.schema import StandpointAutoSchema

# Token first: its WWW-Authenticate header turns "no credentials" into 401 (not 403), which is
# what scripts expect; browsers still authenticate with the session (CSRF enforced by DRF).
AUTHENTICATION = [FastTokenAuthentication, FastSessionAuthentication]


# Ids in URLs above this cannot exist; SQLite's driver raises OverflowError (a 500) beyond 2**63.
MAX_ID = 2**62


class ApiMixin:
    authentication_classes = AUTHENTICATION
    # JSON only (uploads override): one body format to document, validate and test.
    parser_classes = [BoundaryJSONParser]
    schema = StandpointAutoSchema()

    def initial(self, request, *args, **kwargs):
        if any(isinstance(v, int) and v > MAX_ID for v in kwargs.values()):
            raise NotFound()
        super().initial(request, *args, **kwargs)


class ApiView(ApiMixin, APIView):
    pass


class ProjectScopedMixin:
    """For views under /projects/{project_id}/: the permission classes already checked the
    caller's role (404 for non-members); `project` is loaded once per request."""

    _project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            project_id = self.kwargs["project_id"]
            self._project = (project_cached(user=self.request.user, project_id=project_id)
                             or get_object_or_404(Project, pk=project_id))
        return self._project
