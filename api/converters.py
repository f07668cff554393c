"""URL converters. Ids are bounded so that an absurd number in a URL is a 404, not a database
integer-overflow error (a 500) on PostgreSQL's bigint columns."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")
