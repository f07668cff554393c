"""JSON rendering with orjson: the API's hot endpoints return plain dicts, and DRF's stdlib
encoder was a measurable share of their time (see tests/benchmarks/bench_api.py)."""

from __future__ import annotations

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

_fallback = JSONEncoder()


def _default(obj):
    # Lazy translation strings, Decimals, querysets and the like: as DRF's own encoder writes them.
    return _fallback.default(obj)


class ORJSONRenderer(JSONRenderer):
    """Same output as DRF's JSONRenderer (datetimes as ISO 8601 with `Z`, compact, UTF-8), faster.
    A client asking for `indent` gets DRF's renderer, which honours it."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            return orjson.dumps(data, default=_default, option=OPTIONS)
        except orjson.JSONEncodeError:
            # An integer past 64 bits (PostgreSQL's jsonb turns an imported 1e300 into one): DRF's
            # encoder writes it; a stored value must never make its own page fail.
            return super().render(data, accepted_media_type, renderer_context)
