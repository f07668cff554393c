import { describe, expect, it } from "vitest";
import { TextIndex } from "../offsets";
import { runs } from "./highlight";

describe("runs", () => {
  it("marks code point ranges correctly after an astral character", () => {
    const text = "Hi 👍🏽 Putin spoke";
    // Python: text.index("Putin") == 6 (the emoji + skin tone are two code points, four UTF-16 units)
    const out = runs(new TextIndex(text), [{ start: 6, end: 11, kind: "agree", title: "PERSON" }]);
    expect(out.map((r) => [r.text, r.marks.length])).toEqual([["Hi 👍🏽 ", 0], ["Putin", 1], [" spoke", 0]]);
  });

  it("splits overlapping marks into runs covered by each", () => {
    const out = runs(new TextIndex("abcdef"), [
      { start: 0, end: 4, kind: "a", title: "A" },
      { start: 2, end: 6, kind: "b", title: "B" },
    ]);
    expect(out.map((r) => [r.text, r.marks.map((m) => m.title).join("+")])).toEqual([
      ["ab", "A"], ["cd", "A+B"], ["ef", "B"],
    ]);
  });

  it("returns the whole text when nothing is marked", () => {
    expect(runs(new TextIndex("plain"), [])).toEqual([{ text: "plain", marks: [] }]);
  });
});
