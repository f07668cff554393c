from django.urls import path

from . import views

P = "projects/<int:project_id>/"
urlpatterns = [
    path(P + "stories/", views.StoryListView.as_view(), name="story-list"),
    path(P + "stories/merge/", views.StoryMergeView.as_view(), name="story-merge"),
    path(P + "stories/recompute/", views.StoryRecomputeView.as_view(), name="story-recompute"),
    path(P + "stories/settings/", views.StorySettingsView.as_view(), name="story-settings"),
    path(P + "stories/stance-by-outlet/", views.StanceByOutletView.as_view(), name="story-stance-by-outlet"),
    path(P + "stories/<int:story_id>/", views.StoryDetailView.as_view(), name="story-detail"),
    path(P + "stories/<int:story_id>/split/", views.StorySplitView.as_view(), name="story-split"),
    path(P + "stories/<int:story_id>/compare/", views.StoryCompareView.as_view(), name="story-compare"),
    path(P + "duplicates/", views.DuplicateGroupsView.as_view(), name="duplicate-groups"),
]
