"""UI speed bar, measured in real headless Chromium with the Performance API.

    cd frontend && npm ci && npm run build && cd ..
    .venv/bin/python tests/benchmarks/bench_ui.py [--runs 5] [--keys 20]

A 20,000-character article with 500 spans (400 suggestions, 100 confirmed, nested quotes, emoji)
is served to the built app through Playwright request routing, so the figures are the browser's
alone (no server, no database):

- interactive: from the `sp:data` mark (assignment + project JSON parsed) to `sp:interactive`
  (first paint done, handlers attached). Bar: < 300 ms.
- add-span repaint: keydown timestamp -> the task after the next frame (the paint that shows the
  new span), for a text selection + label key. Bar: < 50 ms.

Prints the figures; exits 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
ORIGIN = "http://bench.standpoint.test"
WORDS = ("government troops minister said warned Ukraine Europe talks ceasefire security alliance president "
         "officials report border military economy sanctions statement Kyiv Moscow Brussels NATO").split()
LABELS = ["PERSON", "ORG", "GPE", "NORP", "LOC", "DATE"]


def make_article(chars: int = 20_000, spans: int = 500, seed: int = 7):
    rng = random.Random(seed)
    words: list[tuple[int, int]] = []  # code point ranges of words
    text = ""
    while len(text) < chars:
        w = rng.choice(WORDS)
        if rng.random() < 0.01:
            w = "👍🏽"
        if text:
            text += "\n\n" if rng.random() < 0.02 else " "
        words.append((len(text), len(text) + len(w)))
        text += w
    text = text[:chars]
    words = [w for w in words if w[1] <= len(text)]
    # Quotes over ~8 words every ~120 words, entities on single words: nested and flat spans.
    out: list[dict] = []
    step = len(words) // (spans - 40)
    for k, i in enumerate(range(0, len(words) - 10, step)):
        if len(out) >= spans:
            break
        if k % 12 == 0:
            s, e = words[i][0], words[i + 7][1]
            out.append({"start": s, "end": e, "label": "QUOTE", "attrs": {"kind": "direct", "speaker": "Officials",
                                                                           "speaker_span": None}})
            j = i + 2  # an entity inside the quote: nesting
            out.append({"start": words[j][0], "end": words[j][1], "label": rng.choice(LABELS), "attrs": {}})
        else:
            out.append({"start": words[i][0], "end": words[i][1], "label": rng.choice(LABELS), "attrs": {}})
    out = out[:spans]
    return text, out, words


def payload(text: str, spans: list[dict]):
    suggestions, confirmed = [], []
    for i, s in enumerate(spans):
        if i % 5 == 4:
            confirmed.append({"id": 10_000 + i, **s, "origin": "human", "suggestion": None})
        else:
            suggestions.append({"id": 1 + i, **s, "origin": "model", "model_name": "bench", "model_version": "1"})
    annotation = {"id": 1, "assignment": 1, "version": 1, "stance": {}, "frames": [], "primary_frame": "",
                  "notes": "", "spans": confirmed, "rejected_suggestions": [], "updated_at": None}
    assignment = {"id": 1, "project": 1, "status": "in_progress",
                  "article": {"id": 1, "external_id": "bench-20k", "title": "Benchmark article", "source": "Bench",
                              "url": "", "published": "2025-09-05T00:00:00Z", "meta": {}, "text": text},
                  "annotation": annotation, "suggestions": suggestions}
    schema = {"version": 1, "stance_labels": ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"], "stance_ordered": False,
              "frames": ["Economic", "Political", "Security and defense"], "frames_required": "at_least_one",
              "primary_frame_required": True,
              "span_labels": [*LABELS, "QUOTE", "SPEAKER", "EVENT"]}
    project = {"id": 1, "name": "Bench", "slug": "bench", "description": "", "guidelines": "", "guidelines_html": "",
               "label_schema": schema, "targets": [{"id": 1, "key": "t1", "name": "Target one", "description": "",
                                                     "position": 0}], "role": "annotator"}
    return assignment, project, annotation


def shell_html() -> str:
    manifest = json.loads((DIST / ".vite" / "manifest.json").read_text())["src/main.tsx"]
    css = "".join(f'<link rel="stylesheet" href="/static/{c}">' for c in manifest.get("css", []))
    boot = json.dumps({"username": "bench", "display_name": "Bench"})
    return (f'<!doctype html><html><head><meta charset="utf-8">{css}</head><body>'
            f'<script id="sp-boot" type="application/json">{boot}</script><div id="app"></div>'
            f'<script type="module" src="/static/{manifest["file"]}"></script></body></html>')


KEY_PROBE = """
() => {
  window.__keyMs = null;
  document.addEventListener('keydown', (e) => {
    const t0 = e.timeStamp;
    requestAnimationFrame(() => setTimeout(() => { window.__keyMs = performance.now() - t0; }));
  }, { capture: true, once: true });
}
"""

SELECT_WORD = """
([n]) => {
  // Select the n-th unlabelled word of the text (a plain segment), as a mouse drag would.
  const segs = [...document.querySelectorAll('.article-text [data-u]:not(.hl)')].filter(s => /\\w{4,}/.test(s.textContent));
  const seg = segs[(n * 7) % segs.length];
  const m = /\\w{4,}/.exec(seg.textContent);
  const r = document.createRange();
  r.setStart(seg.firstChild, m.index); r.setEnd(seg.firstChild, m.index + m[0].length);
  const sel = getSelection(); sel.removeAllRanges(); sel.addRange(r);
  seg.scrollIntoView({ block: 'center' });  // annotators label what they see
  return document.querySelectorAll('.article-text .hl').length;
}
"""


def run(runs: int, keys: int) -> dict:
    from playwright.sync_api import sync_playwright

    text, spans, _ = make_article()
    assignment, project, annotation = payload(text, spans)
    html = shell_html()
    interactive, keypress = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for r in range(runs):
            page = browser.new_page(viewport={"width": 1440, "height": 900})

            def handle(route, request):
                url = request.url[len(ORIGIN):]
                if url.startswith("/static/"):
                    path = DIST / url[len("/static/"):]
                    ctype = "text/css" if path.suffix == ".css" else "application/javascript"
                    return route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": ctype})
                if url == "/api/v1/assignments/1/":
                    return route.fulfill(status=200, json=assignment)
                if url == "/api/v1/projects/1/":
                    return route.fulfill(status=200, json=project)
                if url == "/api/v1/assignments/1/annotation/":
                    body = json.loads(request.post_data or "{}")
                    annotation["version"] = body.get("version", 1) + 1
                    return route.fulfill(status=200, json={**annotation, **{k: v for k, v in body.items() if k != "version"}})
                if url.startswith("/assignments/"):
                    return route.fulfill(status=200, body=html, headers={"Content-Type": "text/html"})
                return route.fulfill(status=404, body="")

            page.route(f"{ORIGIN}/**", handle)
            page.goto(f"{ORIGIN}/assignments/1/")
            page.wait_for_function("performance.getEntriesByName('sp:interactive').length > 0", timeout=30_000)
            ms = page.evaluate("performance.measure('sp:ready', 'sp:data', 'sp:interactive').duration")
            interactive.append(ms)
            n_hl = page.evaluate("document.querySelectorAll('.article-text .hl').length")
            if r == runs - 1:
                for k in range(keys):
                    before = page.evaluate(SELECT_WORD, [k])
                    page.evaluate("new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)))")
                    page.evaluate(KEY_PROBE)
                    page.keyboard.press("o")  # ORG
                    page.wait_for_function("window.__keyMs !== null", timeout=10_000)
                    keypress.append(page.evaluate("window.__keyMs"))
                    after = page.evaluate("document.querySelectorAll('.article-text .hl').length")
                    assert after > before, "the keypress did not add a span"
                page.screenshot(path=str(ROOT / "test-artifacts" / "bench_ui.png"))
            page.close()
        browser.close()
    return {"chars": len(text), "spans": len(spans), "highlighted_segments": n_hl,
            "interactive_ms": interactive, "keypress_ms": keypress}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keys", type=int, default=20)
    args = ap.parse_args()
    if not (DIST / ".vite" / "manifest.json").exists():
        print("frontend/dist is missing: cd frontend && npm ci && npm run build", file=sys.stderr)
        return 2
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    res = run(args.runs, args.keys)
    inter, keys = res["interactive_ms"], res["keypress_ms"]
    print(f"article: {res['chars']} characters, {res['spans']} spans "
          f"({res['highlighted_segments']} highlighted segments)")
    print(f"interactive after data: median {statistics.median(inter):.1f} ms, max {max(inter):.1f} ms "
          f"over {len(inter)} loads (bar 300 ms)")
    print(f"add-span keypress to paint: median {statistics.median(keys):.1f} ms, "
          f"p95 {sorted(keys)[int(0.95 * (len(keys) - 1))]:.1f} ms, max {max(keys):.1f} ms over {len(keys)} keys (bar 50 ms)")
    ok = max(inter) < 300 and statistics.median(keys) < 50
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
