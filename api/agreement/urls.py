from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [
    path("projects/<id:project_id>/agreement/", views.AgreementView.as_view(), name="project-agreement"),
    path("projects/<id:project_id>/throughput/", views.ThroughputView.as_view(), name="project-throughput"),
]
