from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotate.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_create_token_prints_a_working_key_stored_only_as_its_hash():
    user = UserFactory(username="ml-engineer")
    key = run("ml-engineer")
    second = run("ml-engineer", "--name", "nightly export")
    assert second != key  # the key cannot be printed again: each run issues another token
    for k in (key, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {k}")
        assert client.get("/api/v1/me/").json()["username"] == "ml-engineer"
    stored = list(ApiToken.objects.filter(user=user).values_list("name", "key_hash"))
    assert {n for n, _ in stored} == {"command line", "nightly export"}
    assert all(key not in h and second not in h for _, h in stored)


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
