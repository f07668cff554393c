"""Issue 14 in real Chromium: renaming a stance label in Setup shows what it will migrate, the
save migrates the annotations, and the Audit tab shows the change."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, Membership
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    MembershipFactory,
    ProjectFactory,
    TargetFactory,
    UserFactory,
)

from .conftest import PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_rename_a_stance_label_in_setup_with_preview_and_audit(live_server, page):
    base = live_server.url
    project = ProjectFactory(name="Codebook demo")
    TargetFactory(project=project, key="troops")
    admin = UserFactory(username="cb-admin", password=PASSWORD)
    MembershipFactory(project=project, user=admin, role=Membership.Role.ADMIN)
    for _ in range(2):
        AnnotationFactory(assignment=AssignmentFactory(article=ArticleFactory(project=project), status="submitted"),
                          stance={"troops": "AGAINST"}, frames=["Economic"], primary_frame="Economic")
    login(page, base, "cb-admin")
    page.goto(f"{base}/manage/projects/{project.pk}/setup")
    stance = page.locator("#f-stance_labels")
    stance.fill(stance.input_value().replace("AGAINST", "OPPOSE"))
    page.click("button.m-primary[type=submit]")
    preview = page.locator("[aria-label='Codebook change preview']")
    preview.wait_for()
    assert "codebook version 1 → 2" in preview.inner_text()
    assert page.locator("[data-uses=AGAINST]").inner_text() == "2 annotations"
    assert page.locator("[aria-label='New label for AGAINST']").input_value() == "OPPOSE"
    assert set(Annotation.objects.values_list("stance__troops", flat=True)) == {"AGAINST"}  # not saved yet
    page.shot("preview")
    page.click("text=Confirm and save")
    page.locator("[role=status].m-ok").wait_for()
    assert set(Annotation.objects.values_list("stance__troops", flat=True)) == {"OPPOSE"}
    page.click("nav.m-tabs >> text=Audit")
    row = page.locator("table.m-audit tr[data-action='codebook.change']").first
    row.wait_for()
    assert "stance_labels: AGAINST → OPPOSE" in row.inner_text() and "cb-admin" in row.inner_text()
    page.shot("audit")
    assert not page.errors
