from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [
    path("projects/<id:project_id>/tasks/next/", views.NextView.as_view(), name="task-next"),
    path("projects/<id:project_id>/tasks/progress/", views.ProgressView.as_view(), name="task-progress"),
    path("projects/<id:project_id>/assignments/", views.AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/<id:assignment_id>/", views.AssignmentDetailView.as_view(), name="assignment-detail"),
    path("assignments/<id:assignment_id>/skip/", views.SkipView.as_view(), name="assignment-skip"),
    path("assignments/<id:assignment_id>/submit/", views.SubmitView.as_view(), name="assignment-submit"),
    path("assignments/<id:assignment_id>/reopen/", views.ReopenView.as_view(), name="assignment-reopen"),
]
