"""Rate limits for token-authenticated (scripted) clients."""

from __future__ import annotations

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
        if self.num_requests is None or auth is None or not hasattr(auth, "key"):
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"throttle:{self.scope}:{auth.user_id}:{window}"
        cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=self.duration + 1)
            count = 1
        if count > self.num_requests:
            self._wait = (window + 1) * self.duration - now
            return False
        return True

    def wait(self):
        return self._wait
