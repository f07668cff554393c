"""The Django side of the management screens (/manage/…): one shell page that loads the
`src/manage/main.tsx` Vite entry; the screens talk to /api/v1 like the annotator UI does."""

from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import re_path
from django.views.decorators.csrf import ensure_csrf_cookie

ENTRY = "src/manage/main.tsx"


def _manifest() -> dict | None:
    try:
        return json.loads((settings.FRONTEND_DIST / ".vite" / "manifest.json").read_text())
    except FileNotFoundError:
        return None


# Cached outside DEBUG: the build is immutable for the life of a production process.
_cached_manifest = lru_cache(maxsize=1)(_manifest)


def manage_assets() -> dict | None:
    """{"js", "css": [...]} of the management entry (its imported chunks' CSS included), or None."""
    manifest = _manifest() if settings.DEBUG else _cached_manifest()
    if not manifest or ENTRY not in manifest:
        return None
    entry, css, seen = manifest[ENTRY], [], set()

    def collect(key: str) -> None:
        if key in seen or key not in manifest:
            return
        seen.add(key)
        css.extend(c for c in manifest[key].get("css", []) if c not in css)
        for imported in manifest[key].get("imports", []):
            collect(imported)

    collect(ENTRY)
    return {"js": entry["file"], "css": css}


@login_required
@ensure_csrf_cookie
def manage_shell(request, **_route):
    """Every /manage/ route renders the same shell; the app reads location.pathname. Roles are
    enforced by the API (non-members see nothing, annotators get 403)."""
    user = request.user
    boot = {"username": user.get_username(), "display_name": user.get_full_name() or user.get_username(),
            "is_staff": user.is_staff or user.is_superuser}
    return render(request, "manage/shell.html", {"assets": manage_assets(), "boot": boot})


urlpatterns = [
    re_path(r"^(?P<path>.*)$", manage_shell, name="manage"),
]
