"""Issue 13: the Content-Security-Policy (no inline script or style) holds in real Chromium: the
annotation screen (with its generated span looks), /manage/ and the Swagger UI at /api/docs/
work and the browser reports no violation."""

from __future__ import annotations

import pytest

from annotate.models import Membership
from tests.factories import (
    ArticleFactory,
    MembershipFactory,
    ProjectFactory,
    SpanFactory,
    TargetFactory,
    UserFactory,
)

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RECORD = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
          "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile))")


def test_issue13_every_screen_works_under_the_csp_without_a_violation(live_server, page):
    project = ProjectFactory(name="Troops", overlap=1)
    TargetFactory(project=project, key="troops", position=0)
    user = UserFactory(username="ana", is_staff=True, is_superuser=True)
    MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    article = ArticleFactory(project=project, text="President Vladimir Putin spoke in Moscow on Monday.")
    SpanFactory(article=article, start=10, end=24, label="PERSON")
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(RECORD)
    base = live_server.url
    login(page, base, "ana")
    assert page.evaluate("window.__csp") == []

    page.click(".project-card .btn")
    page.click(".queue-card .btn-primary")
    page.wait_for_selector(".article-text .hl")
    # The span looks are generated CSS rules: applied, not blocked.
    painted = page.eval_on_selector_all(
        ".article-text .hl", "els => els.filter(e => getComputedStyle(e).backgroundImage !== 'none').length")
    assert painted >= 1
    page.shot("annotate")
    assert page.evaluate("window.__csp") == []

    for path in ("/", f"/assignments/{article.assignments.get().pk}/"):  # the policy is sent (and held)
        assert "script-src 'self'" in page.goto(f"{base}{path}").headers["content-security-policy"]
    page.wait_for_selector(".article-text .hl")
    assert page.evaluate("window.__csp") == []

    answer = page.goto(f"{base}/manage/projects/{project.pk}/")
    assert "style-src 'self'" in answer.headers["content-security-policy"]
    page.wait_for_selector("text=Dashboard")
    page.shot("manage")
    assert page.evaluate("window.__csp") == []

    answer = page.goto(f"{base}/api/docs/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .opblock")
    page.shot("docs")
    assert page.evaluate("window.__csp") == []
    assert console == [] and page.errors == []
