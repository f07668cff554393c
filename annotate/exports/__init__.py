"""Dataset exports: a registry of versioned, streaming writers (G8, G11).

A new format is one new module with one `@writer("name.vN")` class, imported at the bottom of
this file. Stored jobs keep the versioned name, so an old export can be rebuilt byte for byte
as long as its writer version is kept.
"""

from __future__ import annotations

from annotate.errors import ValidationFailed

from .base import ExportContext, ExportRow, Writer

WRITERS: dict[str, type[Writer]] = {}


def writer(name: str):
    def register(cls: type[Writer]) -> type[Writer]:
        if name in WRITERS:
            raise RuntimeError(f"export writer {name!r} registered twice")
        cls.name = name
        WRITERS[name] = cls
        return cls

    return register


def resolve_format(fmt: str) -> str:
    """`jsonl` → the newest `jsonl.vN`; a versioned name is returned as is if it exists."""
    if fmt in WRITERS:
        return fmt
    versions = sorted(
        (int(n.rsplit(".v", 1)[1]), n) for n in WRITERS if n.rsplit(".v", 1)[0] == fmt
    )
    if not versions:
        raise ValidationFailed(
            f"Unknown export format {fmt!r}; choose one of {', '.join(format_choices())}.",
            details={"format": [f"unknown format {fmt!r}"]},
        )
    return versions[-1][1]


def format_choices() -> list[str]:
    return sorted({n.rsplit(".v", 1)[0] for n in WRITERS} | set(WRITERS))


def get_writer(name: str) -> type[Writer]:
    return WRITERS[resolve_format(name)]


from . import conll2003, conllu, jsonl, spacy_docbin  # noqa: E402, F401  (registers the writers)

__all__ = ["WRITERS", "ExportContext", "ExportRow", "Writer", "format_choices", "get_writer", "resolve_format",
           "writer"]
