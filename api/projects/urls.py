from django.urls import path

from . import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/codebook/preview/", views.CodebookPreviewView.as_view(), name="codebook-preview"),
    path("projects/<int:project_id>/targets/", views.TargetListView.as_view(), name="target-list"),
    path("projects/<int:project_id>/targets/<int:target_id>/", views.TargetDetailView.as_view(), name="target-detail"),
    path("projects/<int:project_id>/members/", views.MemberListView.as_view(), name="member-list"),
    path("projects/<int:project_id>/members/<int:membership_id>/", views.MemberDetailView.as_view(),
         name="member-detail"),
]
