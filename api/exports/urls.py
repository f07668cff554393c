from django.urls import path

from .views import ExportDetailView, ExportDownloadView, ProjectExportsView

urlpatterns = [
    path("projects/<int:project_id>/exports/", ProjectExportsView.as_view(), name="project-exports"),
    path("exports/<int:pk>/", ExportDetailView.as_view(), name="export-detail"),
    path("exports/<int:pk>/download/", ExportDownloadView.as_view(), name="export-download"),
]
