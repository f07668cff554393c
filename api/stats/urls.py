from django.urls import path

from . import views

urlpatterns = [path("projects/<int:project_id>/stats/", views.StatsView.as_view(), name="project-stats")]
