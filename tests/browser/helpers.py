"""Browser-side helpers shared by the E2E tests."""

from __future__ import annotations

# Finds a substring in the rendered article (concatenated data-u segments, UTF-16 like the DOM)
# and returns the screen rectangles of its first and last characters.
_RECTS_JS = """
([needle]) => {
  const segs = [...document.querySelectorAll('.article-text [data-u]')];
  const full = segs.map((s) => s.textContent).join('');
  const from = full.indexOf(needle);
  if (from < 0) return null;
  const to = from + needle.length;
  const locate = (u) => {
    for (const el of segs) {
      const s = Number(el.dataset.u), t = el.firstChild, len = t ? t.length : 0;
      if (u >= s && u < s + len) return [t, u - s];
    }
    return null;
  };
  const rectOf = (u, w) => {
    const [node, off] = locate(u);
    const r = document.createRange();
    r.setStart(node, off); r.setEnd(node, Math.min(off + w, node.length));
    const b = r.getBoundingClientRect();
    return { x: b.left, y: b.top + b.height / 2, w: b.width };
  };
  return { first: rectOf(from, 1), last: rectOf(to - 1, 1) };
}
"""


def drag_select(page, needle: str) -> None:
    """Select `needle` in the article with a real mouse drag (from inside its first character
    to inside its last one: sloppy on purpose, snapping must do the rest)."""
    rects = page.evaluate(_RECTS_JS, [needle])
    assert rects, f"{needle!r} is not in the rendered article"
    first, last = rects["first"], rects["last"]
    page.mouse.move(first["x"] + first["w"] * 0.6, first["y"])
    page.mouse.down()
    page.mouse.move(last["x"] + last["w"] * 0.4, last["y"], steps=8)
    page.mouse.up()


def click_text(page, needle: str) -> None:
    """Click in the middle of `needle` in the article."""
    rects = page.evaluate(_RECTS_JS, [needle])
    assert rects, f"{needle!r} is not in the rendered article"
    first, last = rects["first"], rects["last"]
    if abs(first["y"] - last["y"]) < 2:
        page.mouse.click((first["x"] + last["x"] + last["w"]) / 2, first["y"])
    else:
        page.mouse.click(first["x"] + first["w"] / 2, first["y"])


def wait_saved(page) -> None:
    page.wait_for_selector('[data-save-state="saved"]')


def span_titles(page) -> set[str]:
    """Which labels (and whether suggested) the rendered text shows."""
    return set(page.eval_on_selector_all(".article-text .hl", "els => els.map(e => e.title)"))


_AXE_SOURCE: str | None = None


def axe_violations(page, impacts=("serious", "critical"), context: str | None = None) -> list[dict]:
    """Run axe-core (the npm devDependency, so the version is pinned in package-lock.json) on the
    current page and return the violations of the given impacts, each as
    {"id", "impact", "help", "targets"}. Evaluated over CDP, so the page's CSP does not block it."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        from pathlib import Path

        path = Path(__file__).resolve().parents[2] / "frontend/node_modules/axe-core/axe.min.js"
        _AXE_SOURCE = path.read_text(encoding="utf-8")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {_AXE_SOURCE}\n; window.axe = axe; }}")
    found = page.evaluate(
        """async ([context]) => {
            const r = await window.axe.run(context ? document.querySelector(context) : document,
                                           {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""",
        [context],
    )
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(page, context: str | None = None) -> None:
    """0 serious or critical axe-core violations on the current screen."""
    bad = axe_violations(page, context=context)
    assert not bad, "axe-core: " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in bad)
