import { describe, expect, it } from "vitest";
import { snapToGraphemes, snapToTokens, trimRange } from "./snap";

const sel = (text: string, from: string, to: string) => {
  const start = text.indexOf(from);
  return { start, end: text.indexOf(to, start) + to.length };
};
const cut = (text: string, r: { start: number; end: number }) => text.slice(r.start, r.end);

describe("snapToTokens", () => {
  const text = "President Vladimir Putin warned the West 👍🏽 on Monday.";

  it("grows a partial selection to whole words", () => {
    expect(cut(text, snapToTokens(text, sel(text, "adimir", "Pu")))).toBe("Vladimir Putin");
  });

  it("drops white space at the edges", () => {
    const r = { start: text.indexOf(" Vladimir"), end: text.indexOf("Putin") + 6 };
    expect(cut(text, snapToTokens(text, r))).toBe("Vladimir Putin");
  });

  it("keeps a whole emoji with its skin tone", () => {
    const start = text.indexOf("West");
    const r = { start: start + 1, end: text.indexOf("👍🏽") + 1 }; // ends between the surrogates
    expect(cut(text, snapToTokens(text, r))).toBe("West 👍🏽");
  });

  it("works on Cyrillic and CJK", () => {
    const ru = "Владимир Путин заявил";
    expect(cut(ru, snapToTokens(ru, { start: 10, end: 12 }))).toBe("Путин");
    const zh = "习近平说和平";
    const r = snapToTokens(zh, { start: 1, end: 2 });
    expect(r.start).toBeLessThanOrEqual(1);
    expect(r.end).toBeGreaterThanOrEqual(2);
  });

  it("returns an empty range for a white-space selection", () => {
    const r = snapToTokens("a   b", { start: 1, end: 4 });
    expect(r.end - r.start).toBe(0);
  });
});

describe("snapToGraphemes (modifier held)", () => {
  it("keeps the exact selection", () => {
    const text = "Putin's remarks";
    expect(cut(text, snapToGraphemes(text, { start: 1, end: 4 }))).toBe("uti");
  });

  it("never cuts a grapheme cluster", () => {
    const text = "ok 👨‍👩‍👧‍👦 Cafe\u0301";
    const fam = text.indexOf("👨");
    expect(cut(text, snapToGraphemes(text, { start: fam + 1, end: fam + 3 }))).toBe("👨‍👩‍👧‍👦");
    const e = text.indexOf("e\u0301");
    expect(cut(text, snapToGraphemes(text, { start: e, end: e + 1 }))).toBe("e\u0301");
  });
});

describe("trimRange", () => {
  it("trims CRLF and spaces", () => {
    const text = "\r\n  word \r\n";
    expect(cut(text, trimRange(text, { start: 0, end: text.length }))).toBe("word");
  });
});
