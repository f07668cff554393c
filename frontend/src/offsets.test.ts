import { describe, expect, it } from "vitest";
import { TextIndex, codePointLength, toCodePoint, toUtf16 } from "./offsets";

// Expected values were computed with CPython: len(s), s.find(word), s.find(word) + len(word).
const cases: Array<{ name: string; text: string; len: number; word: string; start: number; end: number }> = [
  { name: "skin-tone emoji", text: "Great news 👍🏽 for Kyiv", len: 22, word: "Kyiv", start: 18, end: 22 },
  { name: "the emoji itself", text: "Great news 👍🏽 for Kyiv", len: 22, word: "👍🏽", start: 11, end: 13 },
  { name: "ZWJ family", text: "Family 👨‍👩‍👧‍👦 trip to Zürich", len: 29, word: "Zürich", start: 23, end: 29 },
  { name: "ZWJ sequence itself", text: "Family 👨‍👩‍👧‍👦 trip", len: 19, word: "👨‍👩‍👧‍👦", start: 7, end: 14 },
  { name: "combining accent", text: "Cafe\u0301 owner José said", len: 21, word: "José", start: 12, end: 16 },
  { name: "CJK", text: "习近平说：“和平”。Then Putin", len: 20, word: "Putin", start: 15, end: 20 },
  { name: "astral CJK", text: "𠀋𠀌 text", len: 7, word: "text", start: 3, end: 7 },
  { name: "Cyrillic", text: "Владимир Путин заявил", len: 21, word: "Путин", start: 9, end: 14 },
  { name: "RTL Arabic + Hebrew", text: "قال بوتين ״שלום״ end", len: 20, word: "بوتين", start: 4, end: 9 },
  { name: "CRLF", text: "Line one\r\nLine two 😀\r\nEnd", len: 25, word: "End", start: 22, end: 25 },
];

describe("TextIndex", () => {
  for (const c of cases) {
    it(`gives Python's offsets: ${c.name}`, () => {
      const idx = new TextIndex(c.text);
      expect(idx.cpLength).toBe(c.len);
      expect(codePointLength(c.text)).toBe(c.len);
      const u16 = c.text.indexOf(c.word);
      expect(idx.toCodePoint(u16)).toBe(c.start);
      expect(idx.toCodePoint(u16 + c.word.length, "ceil")).toBe(c.end);
      expect(toCodePoint(c.text, u16)).toBe(c.start);
      // And back: the code point span selects the same characters.
      expect(idx.slice(c.start, c.end)).toBe(c.word);
      expect(idx.toUtf16(c.start)).toBe(u16);
      expect(toUtf16(c.text, c.start)).toBe(u16);
    });
  }

  it("round-trips every code point boundary", () => {
    const text = "a👍🏽b\r\n👨‍👩‍👧‍👦é𠀋ع";
    const idx = new TextIndex(text);
    for (let cp = 0; cp <= idx.cpLength; cp++) expect(idx.toCodePoint(idx.toUtf16(cp))).toBe(cp);
  });

  it("never splits a surrogate pair: floor excludes, ceil includes", () => {
    const text = "x😀y";
    const idx = new TextIndex(text);
    // u16 index 2 is between the two halves of 😀 (code point 1).
    expect(idx.toCodePoint(2, "floor")).toBe(1);
    expect(idx.toCodePoint(2, "ceil")).toBe(2);
    expect(idx.toCodePoint(99)).toBe(3);
    expect(idx.toUtf16(99)).toBe(4);
  });

  it("is the identity on BMP-only text", () => {
    const idx = new TextIndex("Путин said “no”.");
    expect(idx.toCodePoint(7)).toBe(7);
    expect(idx.toUtf16(7)).toBe(7);
  });
});
