import { describe, expect, it } from "vitest";
import {
  acceptAllWithLabel, acceptFrames, acceptSuggestion, addSpan, emptyDraft, historyOf, pendingSuggestions, record, redo,
  rejectSuggestion, relabelSpan, removeSpan, setNotes, setPrimaryFrame, setSpeaker, setStance, toggleFrame, undo,
  type Suggestion,
} from "./state";

const sugg = (id: number, start: number, end: number, label: string): Suggestion => ({
  id, start, end, label, attrs: {}, origin: "model",
});
const S = [sugg(1, 0, 14, "PERSON"), sugg(2, 20, 30, "GPE"), sugg(3, 40, 45, "PERSON"), sugg(4, 50, 80, "QUOTE")];

describe("span state", () => {
  it("accepting a suggestion confirms it and removes it from the pending list", () => {
    const d = acceptSuggestion(emptyDraft(), S[0]);
    expect(d.spans).toEqual([
      { key: "0:14:PERSON", start: 0, end: 14, label: "PERSON", attrs: {}, origin: "model", suggestion: 1 },
    ]);
    expect(pendingSuggestions(d, S).map((s) => s.id)).toEqual([2, 3, 4]);
  });

  it("relabelling a suggestion accepts it under the new label", () => {
    const d = acceptSuggestion(emptyDraft(), S[1], "LOC");
    expect(d.spans[0]).toMatchObject({ label: "LOC", suggestion: 2 });
    expect(pendingSuggestions(d, S).map((s) => s.id)).not.toContain(2);
  });

  it("rejecting hides a suggestion; removing an accepted one rejects it too", () => {
    let d = rejectSuggestion(emptyDraft(), 2);
    expect(pendingSuggestions(d, S).map((s) => s.id)).toEqual([1, 3, 4]);
    d = acceptSuggestion(d, S[0]);
    d = removeSpan(d, "0:14:PERSON");
    expect(d.spans).toEqual([]);
    expect(d.rejected).toEqual([1, 2]);
  });

  it("accept-all takes only the pending suggestions of one label", () => {
    const d = acceptAllWithLabel(rejectSuggestion(emptyDraft(), 3), S, "PERSON");
    expect(d.spans.map((s) => s.key)).toEqual(["0:14:PERSON"]);
  });

  it("adding a span that equals a suggestion accepts the suggestion", () => {
    const d = addSpan(emptyDraft(), { start: 20, end: 30 }, "GPE", S);
    expect(d.spans[0].suggestion).toBe(2);
    const human = addSpan(d, { start: 5, end: 9 }, "ORG", S);
    expect(human.spans.map((s) => [s.key, s.origin])).toEqual([["5:9:ORG", "human"], ["20:30:GPE", "model"]]);
  });

  it("refuses empty and duplicate spans", () => {
    const d = addSpan(emptyDraft(), { start: 5, end: 9 }, "ORG");
    expect(addSpan(d, { start: 5, end: 9 }, "ORG")).toBe(d);
    expect(addSpan(d, { start: 9, end: 9 }, "ORG")).toBe(d);
  });

  it("keeps spans sorted, nested ones outer first", () => {
    let d = addSpan(emptyDraft(), { start: 55, end: 60 }, "PERSON");
    d = addSpan(d, { start: 50, end: 80 }, "QUOTE");
    d = addSpan(d, { start: 1, end: 3 }, "ORG");
    expect(d.spans.map((s) => s.key)).toEqual(["1:3:ORG", "50:80:QUOTE", "55:60:PERSON"]);
  });

  it("relabels a confirmed span, merging into an identical one", () => {
    let d = addSpan(emptyDraft(), { start: 5, end: 9 }, "ORG");
    d = relabelSpan(d, "5:9:ORG", "GPE");
    expect(d.spans.map((s) => s.key)).toEqual(["5:9:GPE"]);
    d = addSpan(d, { start: 5, end: 9 }, "ORG");
    d = relabelSpan(d, "5:9:ORG", "GPE");
    expect(d.spans.map((s) => s.key)).toEqual(["5:9:GPE"]);
  });

  it("sets a quote's speaker from a mention", () => {
    let d = acceptSuggestion(emptyDraft(), S[3]);
    d = setSpeaker(d, "50:80:QUOTE", { start: 0, end: 14, text: "Vladimir Putin" });
    expect(d.spans[0].attrs).toEqual({ speaker: "Vladimir Putin", speaker_span: { start: 0, end: 14 } });
    expect(S[3].attrs).toEqual({}); // suggestions are never mutated
  });
});

describe("stance, frames, notes", () => {
  const order = ["Economic", "Morality", "Political"];

  it("sets and clears stance per target", () => {
    let d = setStance(emptyDraft(), "troops", "AGAINST");
    d = setStance(d, "nato", "FAVOR");
    expect(d.stance).toEqual({ troops: "AGAINST", nato: "FAVOR" });
    expect(setStance(d, "nato", null).stance).toEqual({ troops: "AGAINST" });
  });

  it("first frame becomes primary; removing the primary passes it on", () => {
    let d = toggleFrame(emptyDraft(), "Political", order);
    d = toggleFrame(d, "Economic", order);
    expect(d.frames).toEqual(["Economic", "Political"]);
    expect(d.primary_frame).toBe("Political");
    d = toggleFrame(d, "Political", order);
    expect(d).toMatchObject({ frames: ["Economic"], primary_frame: "Economic" });
    d = setPrimaryFrame(d, "Morality", order);
    expect(d).toMatchObject({ frames: ["Economic", "Morality"], primary_frame: "Morality" });
    d = toggleFrame(toggleFrame(d, "Economic", order), "Morality", order);
    expect(d).toMatchObject({ frames: [], primary_frame: "" });
  });

  it("accepting the suggested frames adds them and their primary, keeping the annotator's own", () => {
    let d = acceptFrames(emptyDraft(), ["Political", "Economic"], "Political", order);
    expect(d).toMatchObject({ frames: ["Economic", "Political"], primary_frame: "Political" });
    expect(acceptFrames(d, ["Political", "Economic"], "Political", order)).toBe(d); // nothing new: no edit
    d = setPrimaryFrame(emptyDraft(), "Morality", order);
    d = acceptFrames(d, ["Economic"], "Economic", order);
    expect(d).toMatchObject({ frames: ["Economic", "Morality"], primary_frame: "Morality" });
  });
});

describe("undo / redo", () => {
  it("walks back and forth through edits", () => {
    let h = historyOf(emptyDraft());
    h = record(h, acceptSuggestion(h.present, S[0]));
    h = record(h, setStance(h.present, "troops", "AGAINST"));
    h = undo(h);
    expect(h.present.stance).toEqual({});
    expect(h.present.spans).toHaveLength(1);
    h = undo(h);
    expect(h.present.spans).toHaveLength(0);
    expect(undo(h)).toBe(h);
    h = redo(redo(h));
    expect(h.present.stance).toEqual({ troops: "AGAINST" });
    expect(redo(h)).toBe(h);
  });

  it("a new edit after undo drops the redo branch", () => {
    let h = historyOf(emptyDraft());
    h = record(h, setStance(h.present, "t", "FAVOR"));
    h = undo(h);
    h = record(h, setStance(h.present, "t", "AGAINST"));
    expect(h.future).toEqual([]);
    expect(redo(h).present.stance).toEqual({ t: "AGAINST" });
  });

  it("typing a note is one undo step, and no-op edits record nothing", () => {
    let h = historyOf(emptyDraft());
    for (const text of ["T", "Th", "The", "The note"]) h = record(h, setNotes(h.present, text), "notes");
    expect(h.past).toHaveLength(1);
    expect(record(h, setNotes(h.present, "The note"))).toBe(h);
    h = undo(h);
    expect(h.present.notes).toBe("");
  });
});
