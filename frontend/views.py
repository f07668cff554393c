"""The Django side of the web UI: login/logout and one page shell that loads the Vite build.

Everything after login is the TypeScript app talking to /api/v1; Django only authenticates and
hands out the shell with the hashed asset names read from Vite's manifest.
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

ENTRY = "src/main.tsx"


def _read_manifest() -> dict | None:
    path = settings.FRONTEND_DIST / ".vite" / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


# Cached outside DEBUG: the build is immutable for the life of a production process.
_cached_manifest = lru_cache(maxsize=1)(_read_manifest)


def frontend_assets() -> dict | None:
    """{"js": "assets/main-abc.js", "css": [...]} for the entry point, or None when not built."""
    manifest = _read_manifest() if settings.DEBUG else _cached_manifest()
    if not manifest or ENTRY not in manifest:
        return None
    entry = manifest[ENTRY]
    return {"js": entry["file"], "css": list(entry.get("css", []))}


@login_required
@ensure_csrf_cookie
def shell(request, **_route):
    """Every UI route renders the same shell; the app reads location.pathname."""
    user = request.user
    boot = {"username": user.get_username(), "display_name": user.get_full_name() or user.get_username()}
    return render(request, "frontend/shell.html", {"assets": frontend_assets(), "boot": boot})
