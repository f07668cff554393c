from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<id:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<id:project_id>/targets/", views.TargetListView.as_view(), name="target-list"),
    path("projects/<id:project_id>/targets/<id:target_id>/", views.TargetDetailView.as_view(), name="target-detail"),
    path("projects/<id:project_id>/members/", views.MemberListView.as_view(), name="member-list"),
    path("projects/<id:project_id>/members/<id:membership_id>/", views.MemberDetailView.as_view(),
         name="member-detail"),
]
