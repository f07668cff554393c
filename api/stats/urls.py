from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [path("projects/<id:project_id>/stats/", views.StatsView.as_view(), name="project-stats")]
