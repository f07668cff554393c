from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Throttles token-authenticated (scripted) clients per token; browser sessions are not throttled."""

    scope = "token"

    def get_cache_key(self, request, view):
        auth = getattr(request, "auth", None)
        if auth is None or not hasattr(auth, "key"):
            return None
        return self.cache_format % {"scope": self.scope, "ident": auth.user_id}
