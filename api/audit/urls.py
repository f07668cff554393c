from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/audit/", views.AuditListView.as_view(), name="audit-list"),
]
