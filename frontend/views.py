"""The Django side of the web UI: login/logout and one page shell that loads the Vite build.

Everything after login is the TypeScript app talking to /api/v1; Django only authenticates and
hands out the shell with the hashed asset names read from Vite's manifest.
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import views as auth_views
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


def vite_assets(entry: str) -> dict | None:
    """{"js": entry file, "css": [...], "preload": [...]} for a Vite entry, or None when not built.
    Chunks the entry imports (shared between the annotator and management entries) are preloaded
    and their CSS linked."""
    manifest = _read_manifest() if settings.DEBUG else _cached_manifest()
    if not manifest or entry not in manifest:
        return None
    css: list[str] = []
    preload: list[str] = []
    seen: set[str] = set()

    def walk(key: str) -> None:
        if key in seen or key not in manifest:
            return
        seen.add(key)
        chunk = manifest[key]
        css.extend(c for c in chunk.get("css", []) if c not in css)
        for imp in chunk.get("imports", []):
            if imp in manifest and imp not in seen:
                preload.append(manifest[imp]["file"])
            walk(imp)

    walk(entry)
    return {"js": manifest[entry]["file"], "css": css, "preload": preload}


def frontend_assets() -> dict | None:
    return vite_assets(ENTRY)


def render_shell(request, *, assets: dict | None, boot: dict, title: str = "Standpoint",
                 boot_id: str = "sp-boot", mount_id: str = "app"):
    """The one page shell for every entry: the app mounts on `mount_id` and reads `boot_id`."""
    return render(request, "frontend/shell.html", {
        "assets": assets, "boot": boot, "title": title, "boot_id": boot_id, "mount_id": mount_id})


@login_required
@ensure_csrf_cookie
def shell(request, **_route):
    """Every UI route renders the same shell; the app reads location.pathname."""
    user = request.user
    boot = {"username": user.get_username(), "display_name": user.get_full_name() or user.get_username()}
    return render_shell(request, assets=frontend_assets(), boot=boot)


class InviteView(auth_views.PasswordResetConfirmView):
    """An invited user sets their password (annotate.services.invitations): Django's reset
    confirmation, so the link is one-time and expires with PASSWORD_RESET_TIMEOUT."""

    template_name = "frontend/invite.html"
    success_url = "/login/?invited=1"
    post_reset_login = False
