import { describe, expect, it } from "vitest";
import { layoutSpans } from "./layout";
import { TextIndex } from "./offsets";

describe("layoutSpans", () => {
  const text = "👍🏽 Putin said “troops are targets” today";
  const idx = new TextIndex(text);
  const cp = (w: string) => {
    const u = text.indexOf(w);
    return { start: idx.toCodePoint(u), end: idx.toCodePoint(u + w.length) };
  };

  it("gives nested spans different lanes and splits text at every boundary", () => {
    const quote = { id: "q", ...cp("“troops are targets”"), label: "QUOTE", suggested: false };
    const inner = { id: "t", ...cp("troops"), label: "NORP", suggested: true };
    const person = { id: "p", ...cp("Putin"), label: "PERSON", suggested: false };
    const lay = layoutSpans(idx, [inner, person, quote]);
    const lane = Object.fromEntries(lay.placed.map((p) => [p.id, p.lane]));
    expect(lane.q).not.toBe(lane.t);
    expect(lay.lanes).toBe(2);
    // Segments tile the whole text in UTF-16 units, so the DOM shows the text unchanged.
    expect(lay.segments.map((s) => text.slice(s.start, s.end)).join("")).toBe(text);
    const seg = (w: string) => lay.segments.find((s) => text.slice(s.start, s.end) === w)!;
    expect(seg("Putin").cover.map((i) => lay.placed[i].id)).toEqual(["p"]);
    expect(seg("troops").cover.map((i) => lay.placed[i].id)).toEqual(["q", "t"]);
    expect(seg(" are targets”").cover.map((i) => lay.placed[i].id)).toEqual(["q"]);
  });

  it("handles crossing spans and empty input", () => {
    const a = { id: "a", start: 0, end: 8, label: "X", suggested: false };
    const b = { id: "b", start: 4, end: 12, label: "Y", suggested: false };
    const lay = layoutSpans(idx, [a, b]);
    expect(new Set(lay.placed.map((p) => p.lane)).size).toBe(2);
    expect(layoutSpans(idx, []).segments).toEqual([{ start: 0, end: text.length, cover: [] }]);
  });
});
