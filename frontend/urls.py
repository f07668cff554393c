from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

app_name = "frontend"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="frontend/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invite/<uidb64>/<token>/", views.InviteView.as_view(), name="invite"),
    path("manage/", include("frontend.manage_views")),
    path("", views.shell, name="home"),
    path("projects/<int:project_id>/", views.shell, name="project"),
    path("assignments/<int:assignment_id>/", views.shell, name="assignment"),
    path("work/", views.shell, name="my-work"),
]
