"""Rate limits for token-authenticated (scripted) clients."""

from __future__ import annotations

import threading
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class TokenRateThrottle(BaseThrottle):
    """At most N requests per period per token user (setting API_TOKEN_RATE, e.g. "6000/min").
    Browser sessions are not throttled.

    A fixed-window counter (one cache add + incr per request) rather than DRF's sliding log,
    which stores and rewrites every request's timestamp: 6,000 of them per user per minute at
    the default rate. The price is a burst of up to 2N across a window boundary."""

    scope = "token"

    def __init__(self):
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = SimpleRateThrottle.parse_rate(None, rate)
        self._wait = None

    def allow_request(self, request, view) -> bool:
        auth = getattr(request, "auth", None)
        if self.num_requests is None or auth is None or not hasattr(auth, "key_hash"):
            return True
        now = time.time()
        window = int(now // self.duration)
        count = self._count(f"throttle:{self.scope}:{auth.user_id}", window)
        if count > self.num_requests:
            self._wait = (window + 1) * self.duration - now
            return False
        return True

    def wait(self):
        return self._wait

    def _count(self, name: str, window: int) -> int:
        """This request's number in the window. A shared cache (CACHE_URL) counts across web
        processes; the default per-process memory cache is replaced by a plain dict, which
        counts the same and costs a fraction (6% of a worker's CPU under load)."""
        if not _local_memory_default():
            key = f"{name}:{window}"
            cache.add(key, 0, timeout=self.duration + 1)
            try:
                return cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=self.duration + 1)
                return 1
        with _lock:
            if len(_windows) > 100_000:
                _windows.clear()
            current = _windows.get(name)
            count = current[1] + 1 if current and current[0] == window else 1
            _windows[name] = (window, count)
        return count


_windows: dict[str, tuple[int, int]] = {}  # name -> (window, count) for the per-process counter
_lock = threading.Lock()


def reset_counts() -> None:
    """Forget this process's counts (tests)."""
    with _lock:
        _windows.clear()


def _local_memory_default() -> bool:
    from django.conf import settings

    return settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
