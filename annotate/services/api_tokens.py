"""API tokens: create (the key is returned once, only its hash is kept), revoke, mark as used.

Keys are 40 random hex characters (160 bits), so a plain sha256 is enough to store them: there
is nothing to brute-force that a slow hash would protect, and a lookup by hash needs no
constant-time compare.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from annotate.errors import ValidationFailed
from annotate.models import ApiToken

# last_used_at is a hint for people ("used 3 minutes ago"), not a log: one write per token per
# minute at most, so a script hammering the API does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Bumped on every revocation; processes that cache tokens (API_TOKEN_CACHE_SECONDS) drop their
# copies when it changes, so a revoked token stops working at once everywhere the cache is shared.
REVOCATIONS_KEY = "api-tokens:revocations"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationFailed("name: a token needs a name (what will use it?)",
                               details={"name": ["a name is required"]})
    if len(name) > ApiToken.NAME_MAX_LENGTH:
        raise ValidationFailed(f"name: at most {ApiToken.NAME_MAX_LENGTH} characters",
                               details={"name": [f"at most {ApiToken.NAME_MAX_LENGTH} characters (got {len(name)})"]})
    return name


def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its key (never stored, never shown again)."""
    name = _clean_name(name)
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, name=name, key_hash=key_hash(key), prefix=key[:4])
    return token, key


def token_revoke(*, token: ApiToken) -> None:
    """Delete the token: its next request answers 401."""
    ApiToken.objects.filter(pk=token.pk).delete()
    _announce_revocation()


def tokens_revoke_all(*, user) -> int:
    """Delete every token of `user` (create_token --rotate)."""
    count, _ = ApiToken.objects.filter(user=user).delete()
    if count:
        _announce_revocation()
    return count


def _announce_revocation() -> None:
    """Now, and again at commit when inside a transaction: a process that read the row before
    the delete committed and cached it then sees the second bump."""
    _bump_revocations()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump_revocations)


def _bump_revocations() -> None:
    from api.authentication import forget_cached_tokens  # the API layer holds the cache

    forget_cached_tokens()
    cache.add(REVOCATIONS_KEY, 0, timeout=None)
    try:
        cache.incr(REVOCATIONS_KEY)
    except ValueError:  # evicted between add and incr
        cache.set(REVOCATIONS_KEY, 1, timeout=None)


def revocations_seen() -> int:
    return cache.get(REVOCATIONS_KEY, 0)


def token_mark_used(*, token: ApiToken, now=None) -> None:
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
