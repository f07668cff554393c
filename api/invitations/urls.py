from django.urls import path

from .views import InvitationsView

urlpatterns = [
    path("projects/<int:project_id>/invitations/", InvitationsView.as_view(), name="project-invitations"),
]
