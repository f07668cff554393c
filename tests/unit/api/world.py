"""A small project with one member per role, shared by the API tests (factories, not fixture files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_framework.test import APIClient

from annotate.models import Membership, Project
from tests.factories import (
    ArticleFactory,
    MembershipFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
    api_key,
)

ROLES = ("admin", "reviewer", "annotator", "exporter")


@dataclass
class World:
    project: Project
    other_project: Project
    users: dict = field(default_factory=dict)
    articles: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    suggestion: object = None
    keys: dict = field(default_factory=dict)

    def client(self, who: str | None) -> APIClient:
        """An API client authenticated with a token as `who` (a role name, "annotator2",
        "outsider" = member of another project only, "staff", "superuser"), or anonymous."""
        client = APIClient()
        if who is not None:
            if who not in self.keys:
                self.keys[who] = api_key(self.users[who])
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[who]}")
        return client


def make_world(*, articles: int = 3, overlap: int = 2) -> World:
    project = ProjectFactory(overlap=overlap)
    other = ProjectFactory()
    world = World(project=project, other_project=other)
    for role in ROLES:
        world.users[role] = MembershipFactory(project=project, role=role, user=UserFactory(username=f"{role}-user")).user
    world.users["annotator2"] = MembershipFactory(
        project=project, role=Membership.Role.ANNOTATOR, user=UserFactory(username="annotator2-user")).user
    world.users["outsider"] = MembershipFactory(
        project=other, role=Membership.Role.ADMIN, user=UserFactory(username="outsider-user")).user
    world.users["staff"] = UserFactory(username="staff-user", is_staff=True)
    world.users["superuser"] = UserFactory(username="root-user", is_superuser=True, is_staff=True)
    world.targets = [TargetFactory(project=project, key="western-troops", position=0),
                     TargetFactory(project=project, key="sanctions", position=1)]
    world.articles = [ArticleFactory(project=project) for _ in range(articles)]
    if world.articles:
        world.suggestion = SpanFactory(article=world.articles[0], start=0, end=14, label="PERSON")
    return world
