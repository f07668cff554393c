from django.urls import path

from . import views

urlpatterns = [
    path("assignments/<int:assignment_id>/annotation/", views.AnnotationView.as_view(), name="annotation"),
    path("assignments/<int:assignment_id>/annotation/spans/", views.SpanListView.as_view(), name="span-list"),
    path("assignments/<int:assignment_id>/annotation/spans/<int:span_id>/", views.SpanDetailView.as_view(),
         name="span-detail"),
    path("assignments/<int:assignment_id>/suggestions/", views.SuggestionListView.as_view(), name="suggestion-list"),
    path("assignments/<int:assignment_id>/suggestions/<int:span_id>/accept/", views.SuggestionAcceptView.as_view(),
         name="suggestion-accept"),
    path("assignments/<int:assignment_id>/suggestions/<int:span_id>/reject/", views.SuggestionRejectView.as_view(),
         name="suggestion-reject"),
    path("projects/<int:project_id>/annotations/", views.ProjectAnnotationListView.as_view(),
         name="project-annotations"),
]
