from django.urls import path

from .tokens import MyTokensView, MyTokenView
from .views import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("me/tokens/", MyTokensView.as_view(), name="me-tokens"),
    path("me/tokens/<int:pk>/", MyTokenView.as_view(), name="me-token"),
]
