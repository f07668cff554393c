from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("api/", include("api.urls")),  # first: every API call passes here
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("frontend.urls")),
]
