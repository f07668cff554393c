import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError, type AnnotationDoc } from "./api";
import { AutoSaver, type SaveState } from "./saver";
import { addSpan, setNotes, setStance } from "./state";

const doc = (over: Partial<AnnotationDoc> = {}): AnnotationDoc => ({
  id: 1, version: 1, stance: {}, frames: [], primary_frame: "", notes: "", spans: [], rejected_suggestions: [], ...over,
});

function setup(put: (body: any) => Promise<AnnotationDoc>, storage: Storage | null = null) {
  const states: SaveState["kind"][] = [];
  const saver = new AutoSaver({
    assignmentId: 9, doc: doc(), put, storage, onState: (s) => states.push(s.kind), debounceMs: 300, retryMs: [1000, 2000],
  });
  return { saver, states };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("AutoSaver", () => {
  it("saves within a second, once for a burst of edits, with the current version", async () => {
    const bodies: any[] = [];
    const { saver, states } = setup(async (b) => {
      bodies.push(b);
      return doc({ version: b.version + 1, notes: b.notes });
    });
    let d = (await import("./state")).emptyDraft();
    for (const t of ["a", "ab", "abc"]) saver.update((d = setNotes(d, t)));
    expect(states.at(-1)).toBe("saving");
    await vi.advanceTimersByTimeAsync(1000);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ version: 1, notes: "abc" });
    expect(states.at(-1)).toBe("saved");
    saver.update(setStance(d, "t", "FAVOR"));
    await vi.advanceTimersByTimeAsync(1000);
    expect(bodies[1]).toMatchObject({ version: 2, stance: { t: "FAVOR" } });
  });

  it("sends the server's span ids back so spans are kept, not recreated", async () => {
    const bodies: any[] = [];
    const { saver } = setup(async (b) => {
      bodies.push(b);
      return doc({ version: b.version + 1, spans: b.spans.map((s: any, i: number) => ({ id: s.id ?? 100 + i, ...s })) });
    });
    const { emptyDraft } = await import("./state");
    let d = addSpan(emptyDraft(), { start: 0, end: 4 }, "ORG");
    saver.update(d);
    await vi.advanceTimersByTimeAsync(500);
    saver.update((d = addSpan(d, { start: 6, end: 9 }, "GPE")));
    await vi.advanceTimersByTimeAsync(500);
    expect(bodies[1].spans).toEqual([
      { id: 100, start: 0, end: 4, label: "ORG", attrs: {}, suggestion: null },
      { start: 6, end: 9, label: "GPE", attrs: {}, suggestion: null },
    ]);
  });

  it("queues and retries on network errors, keeping a local copy meanwhile", async () => {
    let fail = 2;
    const calls: any[] = [];
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    } as unknown as Storage;
    const { saver, states } = setup(async (b) => {
      calls.push(b);
      if (fail-- > 0) throw new NetworkError("offline");
      return doc({ version: 2, notes: b.notes });
    }, storage);
    const { emptyDraft } = await import("./state");
    saver.update(setNotes(emptyDraft(), "kept"));
    expect(JSON.parse(store.get("standpoint:draft:9")!).draft.notes).toBe("kept");
    await vi.advanceTimersByTimeAsync(400);
    expect(states.at(-1)).toBe("offline");
    await vi.advanceTimersByTimeAsync(1000);
    expect(states.at(-1)).toBe("offline");
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(3);
    expect(states.at(-1)).toBe("saved");
    expect(store.has("standpoint:draft:9")).toBe(false);
  });

  it("stops on a 409 and exposes the server's version, writing nothing over it", async () => {
    const current = doc({ version: 7, notes: "theirs" });
    let calls = 0;
    const { saver } = setup(async (b) => {
      calls++;
      if (b.version !== 7) throw new ApiError(409, "stale_write", "stale", { current });
      return doc({ version: 8, notes: b.notes });
    });
    const { emptyDraft } = await import("./state");
    saver.update(setNotes(emptyDraft(), "mine"));
    await vi.advanceTimersByTimeAsync(500);
    expect(saver.state).toEqual({ kind: "conflict", current });
    saver.update(setNotes(emptyDraft(), "mine, more"));
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(1); // nothing sent while the conflict is open
    expect(saver.takeTheirs(current).notes).toBe("theirs");
    saver.update(setNotes(emptyDraft(), "mine again"));
    await vi.advanceTimersByTimeAsync(500);
    expect(saver.state.kind).toBe("saved");
    expect(saver.version).toBe(8);
  });

  it("flush resolves once the server has everything", async () => {
    const { saver } = setup(async (b) => doc({ version: b.version + 1 }));
    const { emptyDraft } = await import("./state");
    saver.update(setNotes(emptyDraft(), "x"));
    const done = vi.fn();
    void saver.flush().then(done);
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toHaveBeenCalled();
    expect(saver.version).toBe(2);
  });
});
