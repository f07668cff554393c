"""factory_boy factories for every model (G12): tests build exactly the data they need."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from annotate import models
from annotate.models import text_hash

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests-only")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    overlap = 2


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Target

    project = factory.SubFactory(ProjectFactory)
    key = factory.Sequence(lambda n: f"target-{n}")
    name = factory.LazyAttribute(lambda t: t.key.replace("-", " ").title())
    position = factory.Sequence(lambda n: n)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = models.Membership.Role.ANNOTATOR


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Article

    project = factory.SubFactory(ProjectFactory)
    external_id = factory.Sequence(lambda n: f"art-{n}")
    title = factory.Sequence(lambda n: f"Article {n}")
    source = "Example Times"
    text = "Vladimir Putin said “Western troops would be legitimate targets,” according to Reuters."
    content_hash = factory.LazyAttribute(lambda a: text_hash(a.text))


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Assignment

    article = factory.SubFactory(ArticleFactory)
    project = factory.LazyAttribute(lambda a: a.article.project)
    annotator = factory.SubFactory(UserFactory)


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Annotation

    assignment = factory.SubFactory(AssignmentFactory)


class SpanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Span

    article = factory.SubFactory(ArticleFactory)
    start = 0
    end = 14
    label = "PERSON"
    origin = models.Span.Origin.MODEL


class GoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Gold

    article = factory.SubFactory(ArticleFactory)
    method = models.Gold.Method.ADJUDICATED


class ExportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ExportJob

    project = factory.SubFactory(ProjectFactory)
    format = "jsonl.v1"


def member(project, role) -> User:
    """A new user holding `role` in `project`."""
    return MembershipFactory(project=project, user=UserFactory(), role=role).user


def api_client(user=None):
    """A DRF test client, authenticated as `user` when given (anonymous otherwise)."""
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def api_key(user, name: str = "tests") -> str:
    """A new API token for `user` (annotate.services.api_tokens); returns its key."""
    from annotate.services.api_tokens import token_create

    return token_create(user=user, name=name)[1]
