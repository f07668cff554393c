"""The Django side of the management screens (/manage/…): one shell page that loads the
`src/manage/main.tsx` Vite entry; the screens talk to /api/v1 like the annotator UI does."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import re_path
from django.views.decorators.csrf import ensure_csrf_cookie

from .views import render_shell, vite_assets

ENTRY = "src/manage/main.tsx"


def manage_assets() -> dict | None:
    return vite_assets(ENTRY)


@login_required
@ensure_csrf_cookie
def manage_shell(request, **_route):
    """Every /manage/ route renders the same shell; the app reads location.pathname. Roles are
    enforced by the API (non-members see nothing, annotators get 403)."""
    user = request.user
    boot = {"username": user.get_username(), "display_name": user.get_full_name() or user.get_username(),
            "is_staff": user.is_staff or user.is_superuser}
    return render_shell(request, assets=manage_assets(), boot=boot, title="Standpoint · manage",
                        boot_id="sp-manage-boot", mount_id="manage-app")


urlpatterns = [
    re_path(r"^(?P<path>.*)$", manage_shell, name="manage"),
]
