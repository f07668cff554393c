from django.urls import path

import api.converters  # noqa: F401 - registers <id:…>

from . import views

P = "projects/<id:project_id>/adjudication/"

urlpatterns = [
    path(P, views.QueueView.as_view(), name="adjudication-queue"),
    path(P + "accept-unanimous/", views.AcceptUnanimousView.as_view(), name="adjudication-accept-unanimous"),
    path(P + "majority/", views.MajorityView.as_view(), name="adjudication-majority"),
    path(P + "articles/<id:article_id>/", views.ArticleView.as_view(), name="adjudication-article"),
    path(P + "articles/<id:article_id>/decide/", views.DecideView.as_view(), name="adjudication-decide"),
    path(P + "articles/<id:article_id>/gold/", views.GoldView.as_view(), name="adjudication-gold"),
    path(P + "articles/<id:article_id>/gold/spans/", views.GoldSpansView.as_view(), name="adjudication-gold-spans"),
    path(P + "articles/<id:article_id>/gold/spans/<id:span_id>/", views.GoldSpanView.as_view(),
         name="adjudication-gold-span"),
]
