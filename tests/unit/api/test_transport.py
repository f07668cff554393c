"""What every API call goes through: token auth, the token rate limit, JSON rendering."""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from api.renderers import ORJSONRenderer
from api.throttling import reset_counts
from tests.unit.api.world import make_world

pytestmark = pytest.mark.django_db


def test_token_auth_accepts_a_valid_token_and_refuses_others():
    w = make_world(articles=0)
    client = w.client("annotator")
    assert client.get("/api/v1/me/").json()["username"] == "annotator-user"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    r = bad.get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["error"]["message"] == "Invalid token."
    user = w.users["annotator"]
    user.is_active = False
    user.save()
    r = client.get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["error"]["message"] == "User inactive or deleted."


def test_token_clients_are_rate_limited_sessions_are_not():
    w = make_world(articles=0)
    cache.clear()
    reset_counts()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/min"}
    with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
        client = w.client("annotator")
        assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
        r = client.get("/api/v1/me/")
        assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"
        assert 0 < int(r["Retry-After"]) <= 60
        assert w.client("reviewer").get("/api/v1/me/").status_code == 200  # per token user, not global
        session = APIClient()
        session.force_login(w.users["annotator"])
        assert all(session.get("/api/v1/me/").status_code == 200 for _ in range(5))
    cache.clear()
    reset_counts()


def _rest_framework():
    from django.conf import settings

    return settings.REST_FRAMEWORK


def test_orjson_renderer_writes_what_drfs_renderer_writes():
    data = {"at": dt.datetime(2026, 11, 23, 13, 39, 5, 16372, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2),
            "lazy": gettext_lazy("Not found."), "text": "Kyiv 👋 “no”", "n": [1, 2.5, None, True], "nested": {"a": {}}}
    assert json.loads(ORJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))
    assert ORJSONRenderer().render(data).startswith(b'{"at":"2026-11-23T13:39:05.016372Z"')
    indented = ORJSONRenderer().render(data, "application/json; indent=2", {})
    assert b'\n  "at"' in indented


def test_a_token_seen_recently_is_not_looked_up_again_until_the_cache_expires(monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import api.authentication as auth
    from annotate.models import ApiToken
    from annotate.services.api_tokens import token_revoke

    w = make_world(articles=0)
    client = w.client("annotator")
    other = w.client("reviewer")
    assert client.get("/api/v1/me/").status_code == 200  # last use recorded (once a minute at most)
    assert other.get("/api/v1/me/").status_code == 200
    auth.forget_tokens()
    clock = [1000.0]
    monkeypatch.setattr(auth, "monotonic", lambda: clock[0])
    # Counted as soon as each request ends: the next request resets the connection's query log.
    def queries(c) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert c.get("/api/v1/me/").status_code == 200
        return len(captured.captured_queries)

    with override_settings(API_TOKEN_CACHE_SECONDS=5):
        looked_up = queries(client)
        assert queries(other) == looked_up
        cached = queries(client)
        assert cached == looked_up - 1  # no token lookup
        clock[0] += 1
        assert queries(other) == cached
        # Revoked through the service: refused at once, not at the end of the TTL…
        token_revoke(token=ApiToken.objects.get(user=w.users["annotator"]))
        assert client.get("/api/v1/me/").status_code == 401
        # …and the other tokens are looked up again, then cached again.
        assert queries(other) == looked_up
        clock[0] += 1
        assert queries(other) == cached
    auth.forget_tokens()


def test_without_the_cache_a_revoked_token_fails_at_once():
    w = make_world(articles=0)
    client = w.client("annotator")
    assert client.get("/api/v1/me/").status_code == 200
    w.users["annotator"].api_tokens.all().delete()  # even a raw delete, past the service
    assert client.get("/api/v1/me/").status_code == 401


def test_with_a_shared_cache_the_count_is_kept_there():
    """CACHE_URL set (several web processes): the window's count lives in the shared cache."""
    w = make_world(articles=0)
    caches = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "1/min"}
    with override_settings(CACHES=caches, REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
        client = w.client("annotator")
        # The dummy cache keeps nothing: every request is the window's first, none is refused —
        # which shows the count went to the cache, not to this process's memory.
        assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
