from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("api/", include("api.urls")),  # first: every API call passes here
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]

# Plain pages, or the API's JSON error shape under /api/ (used when DEBUG is off).
handler400 = "annotate.errorpages.bad_request"
handler403 = "annotate.errorpages.permission_denied"
handler404 = "annotate.errorpages.page_not_found"
handler500 = "annotate.errorpages.server_error"
