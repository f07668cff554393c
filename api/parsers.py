"""The API's JSON parser: every JSON body passes the input boundary (annotate/inputs.py) before a
view sees it, so NUL, lone surrogates, deep nesting, 64-bit overflows and oversize bodies are a
400 naming the field on every endpoint alike, never a 500 or a stored value that breaks reads."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from annotate.inputs import InputRefused, NotJSON, Refusal, json_loads


def body_limit() -> int | None:
    # Django's own limit for request bodies; DRF reads JSON from the stream and never applies it.
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BoundaryJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = body_limit()
        data = b"" if stream is None else stream.read(-1 if limit is None else limit + 1)
        if limit is not None and len(data) > limit:
            raise InputRefused([Refusal("", f"the request body is over the limit of {limit:,} bytes "
                                            "(DATA_UPLOAD_MAX_MEMORY_SIZE)")])
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        if encoding.lower().replace("-", "") != "utf8":
            try:
                data = data.decode(encoding).encode("utf-8")
            except (LookupError, UnicodeError) as exc:
                raise ParseError(f"JSON parse error - {exc}") from None
        try:
            return json_loads(data)
        except NotJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
