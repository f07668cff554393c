from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_id>/models/", views.ModelListView.as_view(), name="model-list"),
    path("projects/<int:project_id>/models/train/", views.ModelTrainView.as_view(), name="model-train"),
    path("projects/<int:project_id>/models/<int:version>/activate/", views.ModelActivateView.as_view(),
         name="model-activate"),
    path("projects/<int:project_id>/model-settings/", views.ModelSettingsView.as_view(), name="model-settings"),
    path("projects/<int:project_id>/articles/<int:article_id>/prediction/", views.ArticlePredictionView.as_view(),
         name="article-prediction"),
    path("assignments/<int:assignment_id>/stance-suggestions/", views.StanceSuggestionsView.as_view(),
         name="stance-suggestions"),
]
