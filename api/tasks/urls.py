from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/tasks/next/", views.NextView.as_view(), name="task-next"),
    path("projects/<int:project_id>/tasks/progress/", views.ProgressView.as_view(), name="task-progress"),
    path("projects/<int:project_id>/assignments/", views.AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/<int:assignment_id>/", views.AssignmentDetailView.as_view(), name="assignment-detail"),
    path("assignments/<int:assignment_id>/skip/", views.SkipView.as_view(), name="assignment-skip"),
    path("assignments/<int:assignment_id>/submit/", views.SubmitView.as_view(), name="assignment-submit"),
    path("assignments/<int:assignment_id>/reopen/", views.ReopenView.as_view(), name="assignment-reopen"),
]
