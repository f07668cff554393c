import { describe, expect, it } from "vitest";
import { caretFor, caretRange, moveCaret, resizeRange, tokensOf } from "./caret";
import {
  acceptAllWithLabel, acceptSuggestion, addSpan, emptyDraft, nextQuoteKind, pendingSuggestions, quoteKindOf,
  resizeSpan, setQuoteKind, type Suggestion,
} from "./state";

const TEXT = "Putin said “troops 👍🏽 would go,” Reuters reported.";
const word = (w: string) => ({ start: TEXT.indexOf(w), end: TEXT.indexOf(w) + w.length });
const text = (r: { start: number; end: number }) => TEXT.slice(r.start, r.end);

describe("keyboard caret", () => {
  const tokens = tokensOf(TEXT);

  it("has every word and mark as a token, never white space", () => {
    expect(tokens.map(text)).toEqual(["Putin", "said", "“", "troops", "👍🏽", "would", "go", ",", "”", "Reuters", "reported", "."]);
  });

  it("moves a token at a time and Shift extends and shrinks its far end", () => {
    let c = moveCaret(tokens, null, 1, false);
    expect(text(caretRange(tokens, c!))).toBe("Putin");
    c = moveCaret(tokens, c, 1, false);
    c = moveCaret(tokens, c, 1, false);
    c = moveCaret(tokens, c, 1, false);
    expect(text(caretRange(tokens, c!))).toBe("troops");
    c = moveCaret(tokens, c, 1, true);
    c = moveCaret(tokens, c, 1, true);
    expect(text(caretRange(tokens, c!))).toBe("troops 👍🏽 would");
    c = moveCaret(tokens, c, -1, true);
    expect(text(caretRange(tokens, c!))).toBe("troops 👍🏽");
    // Leftwards past the anchor: the caret now grows to the left.
    c = moveCaret(tokens, moveCaret(tokens, c, -1, true), -1, true);
    expect(text(caretRange(tokens, c!))).toBe("“troops");
    // A plain arrow collapses to the token after (or before) the whole run.
    expect(text(caretRange(tokens, moveCaret(tokens, c, 1, false)!))).toBe("👍🏽");
    expect(text(caretRange(tokens, moveCaret(tokens, c, -1, false)!))).toBe("said");
  });

  it("stops at the ends of the text", () => {
    const last = { anchor: tokens.length - 1, focus: tokens.length - 1 };
    expect(moveCaret(tokens, last, 1, false)).toEqual(last);
    expect(moveCaret(tokens, { anchor: 0, focus: 0 }, -1, true)).toEqual({ anchor: 0, focus: 0 });
    expect(moveCaret([], null, 1, false)).toBeNull();
  });

  it("picks up a mouse selection as whole tokens", () => {
    const c = caretFor(tokens, { start: TEXT.indexOf("oops"), end: TEXT.indexOf("ould") });
    expect(text(caretRange(tokens, c))).toBe("troops 👍🏽 would");
  });

  it("resizes a span's ends a token at a time and never empties it", () => {
    const r = word("Reuters");
    expect(text(resizeRange(tokens, r, "end", true))).toBe("Reuters reported");
    expect(text(resizeRange(tokens, r, "start", true))).toBe("” Reuters");
    expect(resizeRange(tokens, r, "end", false)).toEqual(r);
    expect(resizeRange(tokens, r, "start", false)).toEqual(r);
    const two = word("Reuters reported");
    expect(text(resizeRange(tokens, two, "end", false))).toBe("Reuters");
    expect(text(resizeRange(tokens, two, "start", false))).toBe("reported");
    // A boundary inside a word grows to that word's end first.
    expect(text(resizeRange(tokens, { start: r.start, end: r.start + 3 }, "end", true))).toBe("Reuters");
  });
});

const sugg = (id: number, start: number, end: number, label: string, attrs = {}): Suggestion => ({
  id, start, end, label, attrs, origin: "model",
});

describe("quotes", () => {
  const quote = sugg(1, 10, 30, "QUOTE", { kind: "direct", speaker: "Putin", speaker_span: { start: 0, end: 5 } });
  const speaker = sugg(2, 0, 5, "SPEAKER");
  const person = sugg(3, 0, 5, "PERSON");
  const all = [quote, speaker, person];

  it("accepting a quote accepts its speaker mention's SPEAKER suggestion, nothing else", () => {
    const d = acceptSuggestion(emptyDraft(), quote, undefined, all);
    expect(d.spans.map((s) => [s.label, s.suggestion])).toEqual([["SPEAKER", 2], ["QUOTE", 1]]);
    expect(pendingSuggestions(d, all).map((s) => s.id)).toEqual([3]);
    expect(acceptAllWithLabel(emptyDraft(), all, "QUOTE").spans).toHaveLength(2);
    // Accepted as another label, it is no quote: its speaker stays a suggestion.
    expect(acceptSuggestion(emptyDraft(), quote, "ORG", all).spans).toHaveLength(1);
  });

  it("kind is shown, set and cycled", () => {
    let d = acceptSuggestion(emptyDraft(), quote, undefined, all);
    const key = "10:30:QUOTE";
    expect(quoteKindOf(d.spans.find((s) => s.key === key)!.attrs)).toBe("direct");
    d = setQuoteKind(d, key, nextQuoteKind("direct"));
    expect(d.spans.find((s) => s.key === key)!.attrs).toMatchObject({ kind: "partial", speaker: "Putin" });
    expect(nextQuoteKind("scare")).toBe("direct");
    expect(nextQuoteKind(null)).toBe("direct");
    d = setQuoteKind(d, key, null);
    expect(d.spans.find((s) => s.key === key)!.attrs.kind).toBeUndefined();
    // Only quotes have a kind.
    expect(setQuoteKind(d, "0:5:SPEAKER", "scare")).toBe(d);
  });
});

describe("resizing a span", () => {
  it("moves its boundaries, marks it human, keeps its suggestion link, refuses empty or duplicate", () => {
    let d = acceptSuggestion(emptyDraft(), sugg(7, 0, 5, "PERSON"));
    d = addSpan(d, { start: 0, end: 9 }, "PERSON");
    const grown = resizeSpan(d, "0:5:PERSON", { start: 0, end: 7 });
    expect(grown.spans.find((s) => s.key === "0:7:PERSON")).toMatchObject({ origin: "human", suggestion: 7 });
    expect(resizeSpan(d, "0:5:PERSON", { start: 3, end: 3 })).toBe(d);
    expect(resizeSpan(d, "0:5:PERSON", { start: 0, end: 9 })).toBe(d);
  });
});
