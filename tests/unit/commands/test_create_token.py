from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_create_token_prints_a_working_token_and_is_stable():
    UserFactory(username="ml-engineer")
    key = run("ml-engineer")
    assert run("ml-engineer") == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").json()["username"] == "ml-engineer"


def test_rotate_invalidates_the_old_token():
    UserFactory(username="ml-engineer")
    old = run("ml-engineer")
    new = run("ml-engineer", "--rotate")
    assert new != old
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get("/api/v1/me/").status_code == 401


def test_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run("ghost")
