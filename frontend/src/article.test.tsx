import { render } from "preact";
import { describe, expect, it } from "vitest";
import { ArticleText, lookClasses, pointToU16, readSelection } from "./article";
import { layoutSpans } from "./layout";
import { TextIndex } from "./offsets";

const TEXT = "Putin 👍🏽 said\r\n“no” <script>x()</script>\n\nEnd <img src=x onerror=alert(1)>";

function mount(items = [{ id: "p", start: 0, end: 5, label: "PERSON", suggested: false }]) {
  const idx = new TextIndex(TEXT);
  const layout = layoutSpans(idx, items);
  const root = document.createElement("div");
  document.body.append(root);
  render(
    <ArticleText text={TEXT} layout={layout} colors={new Map([["PERSON", "#2f6f9f"]])} selectedId={null}
      speakers={new Map()} speakerSpan={null} />,
    root,
  );
  return { root, layout };
}

describe("ArticleText", () => {
  it("renders the text verbatim as text, never as HTML", () => {
    const { root } = mount();
    expect(root.textContent).toBe(TEXT);
    expect(root.querySelector("script, img")).toBeNull();
  });

  it("splits lines into paragraph blocks without losing a character", () => {
    const { root, layout } = mount();
    const paras = [...root.querySelectorAll(".para")].map((p) => p.textContent);
    expect(paras).toEqual(["Putin 👍🏽 said\r\n", "“no” <script>x()</script>\n", "\n", "End <img src=x onerror=alert(1)>"]);
    for (const s of layout.segments) expect(TEXT.slice(s.start, s.end).slice(0, -1)).not.toContain("\n");
  });

  it("maps DOM selection points back to UTF-16 offsets", () => {
    const { root } = mount();
    const seg = [...root.querySelectorAll<HTMLElement>("[data-u]")].find((s) => s.textContent!.includes("said"))!;
    const text = seg.firstChild!;
    const at = seg.textContent!.indexOf("said");
    expect(pointToU16(root, text, at)).toBe(TEXT.indexOf("said"));
    // A point given on a container (between paragraphs) resolves to the next segment's start.
    const article = root.querySelector(".article-text")!;
    expect(pointToU16(root, article, 1)).toBe(TEXT.indexOf("“no”"));
    expect(pointToU16(root, article, 4)).toBe(TEXT.length);
    const range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + 4);
    getSelection()!.removeAllRanges();
    getSelection()!.addRange(range);
    expect(readSelection(root)).toEqual({ start: TEXT.indexOf("said"), end: TEXT.indexOf("said") + 4 });
  });

  it("marks suggestions apart from confirmed spans", () => {
    const { root } = mount([
      { id: "p", start: 0, end: 5, label: "PERSON", suggested: false },
      { id: "sugg:1", start: 8, end: 12, label: "PERSON", suggested: true },
    ]);
    const hl = [...root.querySelectorAll<HTMLElement>(".hl")];
    expect(hl.map((h) => h.title)).toEqual(["PERSON", "PERSON (suggested)"]);
    const look = (el: HTMLElement) => [...lookClasses].find(([, c]) => el.classList.contains(c))![0];
    expect(look(hl[0])).not.toContain("repeating-linear-gradient");
    expect(look(hl[1])).toContain("repeating-linear-gradient");
  });
});
