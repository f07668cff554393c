"""Property-based API testing from the OpenAPI schema (schemathesis v4): no generated input,
valid or not, may produce a 5xx, and answers must match the documented status codes, content
types and response schemas. Runs as a superuser so that requests get past authentication and
reach the views, against a project with data in it.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotate.wsgi import application

pytestmark = [pytest.mark.slow]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Every endpoint of the API, exports, agreement and adjudication included.
EVERY_ENDPOINT = r"^/api/v1/"


def not_a_server_error(ctx, response, case):
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"


@pytest.fixture
def token(django_db_setup, django_db_blocker):
    """A superuser token and a small project; committed once, visible to every example."""
    from annotate.models import Membership
    from annotate.services.queue import assignment_next
    from tests.factories import (
        ArticleFactory,
        MembershipFactory,
        ProjectFactory,
        SpanFactory,
        TargetFactory,
        UserFactory,
        api_key,
    )

    with django_db_blocker.unblock():
        root = UserFactory(username="st-root", is_superuser=True, is_staff=True)
        project = ProjectFactory()
        TargetFactory(project=project, key="troops")
        for _ in range(3):
            SpanFactory(article=ArticleFactory(project=project))
        annotator = MembershipFactory(project=project, role=Membership.Role.ANNOTATOR).user
        assignment_next(project=project, user=annotator)
        yield api_key(root)


@pytest.mark.django_db(transaction=True)
@schema.include(path_regex=EVERY_ENDPOINT).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors_and_matches_its_schema(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
