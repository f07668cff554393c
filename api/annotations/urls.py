from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [
    path("assignments/<id:assignment_id>/annotation/", views.AnnotationView.as_view(), name="annotation"),
    path("assignments/<id:assignment_id>/annotation/spans/", views.SpanListView.as_view(), name="span-list"),
    path("assignments/<id:assignment_id>/annotation/spans/<id:span_id>/", views.SpanDetailView.as_view(),
         name="span-detail"),
    path("assignments/<id:assignment_id>/suggestions/", views.SuggestionListView.as_view(), name="suggestion-list"),
    path("assignments/<id:assignment_id>/suggestions/<id:span_id>/accept/", views.SuggestionAcceptView.as_view(),
         name="suggestion-accept"),
    path("assignments/<id:assignment_id>/suggestions/<id:span_id>/reject/", views.SuggestionRejectView.as_view(),
         name="suggestion-reject"),
    path("projects/<id:project_id>/annotations/", views.ProjectAnnotationListView.as_view(),
         name="project-annotations"),
]
