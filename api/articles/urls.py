from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/articles/", views.ArticleListView.as_view(), name="article-list"),
    path("projects/<int:project_id>/articles/import/", views.ArticleImportView.as_view(), name="article-import"),
    path("projects/<int:project_id>/articles/<int:article_id>/", views.ArticleDetailView.as_view(),
         name="article-detail"),
]
