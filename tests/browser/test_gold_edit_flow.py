"""Editable gold in real headless Chromium (issue 14 point 6): on an article that only one
annotator submitted, the reviewer adds a quote by selecting text (snapped to words), moves its
boundaries with the keyboard, sets its speaker from a selection, and saves; the gold says where
each span came from."""

from __future__ import annotations

import pytest

from annotate.models import Gold, Membership, Span
from tests.factories import ArticleFactory, MembershipFactory, ProjectFactory, TargetFactory, UserFactory
from tests.unit.agreement.builders import submit

from .conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TEXT = "👍🏽 Emmanuel Macron said “sending Western troops could not be ruled out,” the newspaper noted."

DRAG = """([a, b]) => {
  const root = document.querySelector('[data-testid=article-text]');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let full = '', nodes = [];
  while (walker.nextNode()) { nodes.push([walker.currentNode, full.length]); full += walker.currentNode.data; }
  const s = full.indexOf(a), e = full.indexOf(b, s) + b.length;
  const at = (off) => { for (const [n, o] of nodes) if (off >= o && off <= o + n.data.length) return [n, off - o]; };
  const rect = (off, left) => { const [n, o] = at(off); const r = document.createRange();
    r.setStart(n, left ? o : Math.max(o - 1, 0)); r.setEnd(n, left ? Math.min(o + 1, n.data.length) : o);
    return r.getBoundingClientRect(); };
  const r1 = rect(s, true), r2 = rect(e, false);
  return {x1: r1.left + 1, y1: r1.top + r1.height / 2, x2: r2.right - 1, y2: r2.top + r2.height / 2};
}"""


def drag(page, start: str, end: str) -> str:
    box = page.evaluate(DRAG, [start, end])
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    return page.text_content("[data-testid=pending-text]")


def test_reviewer_edits_gold_of_a_single_annotation_article(live_server, page):
    project = ProjectFactory(overlap=2)
    TargetFactory(project=project, key="western-troops")
    rita = MembershipFactory(project=project, role=Membership.Role.REVIEWER, user__username="rita").user
    article = ArticleFactory(project=project, text=TEXT, title="Macron on troops")
    macron = TEXT.index("Emmanuel")  # code points (the emoji is two of them, four UTF-16 units in the page)
    ann = submit(article, UserFactory(username="ana"), {"western-troops": "FAVOR"},
                 spans=[(macron, macron + len("Emmanuel Macron"), "PERSON")])

    base = live_server.url
    login(page, base, "rita")
    page.goto(f"{base}/manage/projects/{project.pk}/adjudication")
    page.click("button:has-text('One or no annotation')")
    page.wait_for_selector("[data-testid=queue]")
    page.locator("[data-testid=queue] a", has_text="Macron on troops").click()
    page.wait_for_selector("[data-testid=gold-spans]")
    page.shot("single_annotation")

    assert drag(page, "ending Wes", "could no") == "sending Western troops could not"  # snapped to words
    page.select_option("select[aria-label='Label for a new gold span']", "QUOTE")
    page.click("button:has-text('Add to gold')")
    row = page.locator("tr.m-row-sel")
    row.focus()
    page.keyboard.press("Shift+ArrowLeft")  # start: take in the opening quotation mark
    for _ in range(5):
        page.keyboard.press("ArrowRight")  # end: "be", "ruled", "out", ",", then the closing mark
    assert page.locator("tr.m-row-sel td").nth(1).inner_text() == "“sending Western troops could not be ruled out,”"
    assert drag(page, "the news", "newspaper") == "the newspaper"
    page.click("button:has-text('Selection is the speaker')")
    page.shot("draft")
    page.click("button:has-text('Save gold draft')")
    page.wait_for_selector("[data-testid=gold-status]")
    assert "adjudicated" in page.inner_text("[data-testid=gold-status]")
    page.shot("saved")

    gold = Gold.objects.get(article=article)
    assert (gold.method, gold.decided_by, gold.stance) == (Gold.Method.ADJUDICATED, rita, {"western-troops": "FAVOR"})
    spans = {s.label: s for s in gold.spans.all()}
    quote = spans["QUOTE"]
    q0 = TEXT.index("“")
    assert (quote.start, quote.end) == (q0, q0 + len("“sending Western troops could not be ruled out,”"))
    n0 = TEXT.index("the newspaper")
    assert quote.attrs == {"kind": "direct", "speaker": "the newspaper",
                           "speaker_span": {"start": n0, "end": n0 + len("the newspaper")}}
    assert quote.gold_source == Span.GoldSource.ADJUDICATOR
    assert (spans["PERSON"].gold_source, spans["PERSON"].from_annotation_id) == (Span.GoldSource.ANNOTATION, ann.pk)
