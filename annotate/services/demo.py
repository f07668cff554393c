"""The demo project: five real articles on one event, three stance targets, an admin and two annotators."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.label_schema import default_label_schema
from annotate.models import Membership, Project, Target
from annotate.services.imports import ImportReport, articles_import

DEMO_SLUG = "foreign-troops-in-ukraine"
DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data" / "seed_articles.jsonl"
DEMO_TARGETS = [
    ("western-troops", "Deployment of Western troops to Ukraine",
     "Stance toward sending troops of Western countries (a 'coalition of the willing', NATO members) to Ukraine."),
    ("russian-government", "The Russian government",
     "Stance toward the Russian government, its leadership and its actions."),
    ("ukrainian-government", "The Ukrainian government",
     "Stance toward the Ukrainian government, its leadership and its actions."),
]
DEMO_GUIDELINES = """\
# Foreign troops in Ukraine — annotation guidelines

Read the whole article before labelling. Judge **what the article conveys**, not what you believe.

## Stance (one per target)
- **FAVOR** — the article supports or portrays the target positively.
- **AGAINST** — the article opposes or portrays the target negatively.
- **NEUTRAL** — the target is discussed without taking a side.
- **UNRELATED** — the article does not discuss the target.

Quoting a speaker is not the same as endorsing them: look at selection, framing and the author's own words.

## Frames
Choose every frame the article uses (Media Frames Corpus codebook) and mark the dominant one as primary.

## Spans
Accept correct entity and quotation suggestions, fix their boundaries or speakers, reject wrong ones.
"""
# (username, role, environment variable with its password, site superuser?)
DEMO_USERS = [
    ("admin", Membership.Role.ADMIN, "DEMO_ADMIN_PASSWORD", True),
    ("annotator1", Membership.Role.ANNOTATOR, "DEMO_ANNOTATOR_PASSWORD", False),
    ("annotator2", Membership.Role.ANNOTATOR, "DEMO_ANNOTATOR_PASSWORD", False),
    ("reviewer", Membership.Role.REVIEWER, "DEMO_REVIEWER_PASSWORD", False),
    ("exporter", Membership.Role.EXPORTER, "DEMO_EXPORTER_PASSWORD", False),
]


@dataclass
class DemoResult:
    project: Project
    created_project: bool
    new_credentials: dict[str, str] = field(default_factory=dict)
    import_report: ImportReport | None = None


def demo_load() -> DemoResult:
    """Create (or complete) the demo project. Safe to run any number of times: existing users keep
    their passwords, existing articles are not duplicated."""
    User = get_user_model()
    with transaction.atomic():
        project, created = Project.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={"name": "Foreign troops in Ukraine", "guidelines": DEMO_GUIDELINES, "overlap": 2,
                      "label_schema": default_label_schema(),
                      "description": "Five outlets report Putin's warning about Western troops in Ukraine."},
        )
        for position, (key, name, description) in enumerate(DEMO_TARGETS):
            Target.objects.get_or_create(project=project, key=key,
                                         defaults={"name": name, "description": description, "position": position})
        credentials: dict[str, str] = {}
        for username, role, env_var, superuser in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                password = os.environ.get(env_var) or secrets.token_urlsafe(9)
                user = User.objects.create_user(username=username, password=password,
                                                is_staff=superuser, is_superuser=superuser)
                credentials[username] = password
            Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    report = articles_import(project=project, source=DEMO_DATA)
    if credentials:
        _remember(credentials)
    return DemoResult(project=project, created_project=created, new_credentials=credentials, import_report=report)


def _remember(credentials: dict[str, str]) -> None:
    """Generated passwords are printed once and kept in var/ (mode 600) for the local demo only:
    one line per user, the password of its latest creation (a demo loaded into a new database
    replaces the lines of the old one, which no longer log anyone in)."""
    path = Path(settings.VAR_DIR) / "demo_credentials.txt"
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            username, _, password = line.partition(" ")
            if username and password:
                known[username] = password
    known.update(credentials)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{username} {password}\n" for username, password in known.items()))
