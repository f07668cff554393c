import { describe, expect, it } from "vitest";
import { TextIndex } from "../offsets";
import { moveBoundary, selectionToRange, spanBody, withAttr } from "./goldspans";

const text = "Putin 👍🏽 said “troops would be targets,” on Monday.";
const index = new TextIndex(text);
const cp = (s: string) => [...text.slice(0, text.indexOf(s))].length;
const slice = (r: { start: number; end: number }) => index.slice(r.start, r.end);

describe("selectionToRange", () => {
  it("snaps to whole words and counts code points after an emoji", () => {
    const u = text.indexOf("roops");
    const r = selectionToRange(index, { start: u, end: u + 3 }, false)!;
    expect(slice(r)).toBe("troops");
    expect(r.start).toBe(cp("troops"));
  });

  it("keeps an exact selection with Alt, but never half an emoji", () => {
    const u = text.indexOf("roops");
    expect(slice(selectionToRange(index, { start: u, end: u + 3 }, true)!)).toBe("roo");
    const e = text.indexOf("👍🏽");
    expect(slice(selectionToRange(index, { start: e + 1, end: e + 2 }, true)!)).toBe("👍🏽");
  });

  it("refuses a blank selection", () => {
    const u = text.indexOf(" said");
    expect(selectionToRange(index, { start: u, end: u + 1 }, false)).toBeNull();
  });
});

describe("moveBoundary", () => {
  const span = { start: cp("troops"), end: cp("troops") + 6 };

  it("moves the end by one word, skipping white space", () => {
    expect(slice(moveBoundary(index, span, "end", 1, false))).toBe("troops would");
  });

  it("moves the start left over the quotation mark, then past the emoji as one unit", () => {
    const once = moveBoundary(index, span, "start", -1, false);
    expect(slice(once)).toBe("“troops");
    const r = moveBoundary(index, moveBoundary(index, once, "start", -1, false), "start", -1, false);
    expect(slice(r)).toBe("👍🏽 said “troops");
  });

  it("moves by one character with Alt and never empties the span", () => {
    expect(slice(moveBoundary(index, span, "end", -1, true))).toBe("troop");
    const one = { start: cp("on"), end: cp("on") + 2 };
    expect(slice(moveBoundary(index, one, "end", -1, false))).toBe("on");
    expect(slice(moveBoundary(index, one, "start", 1, false))).toBe("on");
  });
});

describe("spans sent to the server", () => {
  it("name the gold span or the source they came from, and drop removed attributes", () => {
    const s = { key: "k", start: 1, end: 2, label: "QUOTE", attrs: { kind: "direct" }, from_span: 9 };
    expect(spanBody(s)).toEqual({ start: 1, end: 2, label: "QUOTE", attrs: { kind: "direct" }, from_span: 9 });
    expect(spanBody({ ...s, id: 4 })).toEqual({ start: 1, end: 2, label: "QUOTE", attrs: { kind: "direct" }, id: 4 });
    expect(withAttr(s, "kind", "").attrs).toEqual({});
    expect(withAttr(s, "speaker", "Putin").attrs).toEqual({ kind: "direct", speaker: "Putin" });
  });
});
