from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

urlpatterns = [
    path("projects/<id:project_id>/articles/", views.ArticleListView.as_view(), name="article-list"),
    path("projects/<id:project_id>/articles/import/", views.ArticleImportView.as_view(), name="article-import"),
    path("projects/<id:project_id>/articles/<id:article_id>/", views.ArticleDetailView.as_view(),
         name="article-detail"),
]
