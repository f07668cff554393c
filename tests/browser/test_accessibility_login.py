"""axe-core runs in the browser tests (under the page's CSP) and the login page passes it."""

import pytest

from tests.browser.helpers import assert_accessible, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_has_no_serious_axe_violations(page, live_server):
    page.goto(f"{live_server.url}/login/")
    assert page.evaluate("() => document.querySelector('#id_username') !== null")
    assert_accessible(page)
    # axe really ran: a page with an unlabelled input and low contrast is caught.
    page.evaluate("""() => { const i = document.createElement('input'); document.body.append(i);
                             const p = document.createElement('p'); p.textContent = 'faint';
                             p.style.color = '#eee'; p.style.background = '#fff'; document.body.append(p); }""")
    ids = {v["id"] for v in axe_violations(page)}
    assert "label" in ids or "color-contrast" in ids
