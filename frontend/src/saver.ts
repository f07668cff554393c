/**
 * Autosave: every change reaches the server within a second, nothing is ever lost or silently
 * overwritten.
 *
 * - One request in flight at a time; edits made meanwhile go out in the next one (the whole
 *   document is sent with PUT, so the last write carries everything).
 * - Network errors keep the draft and retry with backoff (and at once when the browser says it is
 *   online again); the draft is also mirrored to localStorage so a reload or a crash restores it.
 * - A 409 stale_write stops saving and hands the server's version to the UI, which asks the
 *   annotator which one to keep.
 */
import { ApiError, NetworkError, type AnnotationDoc, type ServerSpan } from "./api";
import { type Draft, type Span, makeSpan } from "./state";

export type SaveState =
  | { kind: "saved" }
  | { kind: "saving" }
  | { kind: "offline"; retryInMs: number }
  | { kind: "conflict"; current: AnnotationDoc }
  | { kind: "closed" }
  | { kind: "error"; message: string };

/** Quiet period before a save: typing a note sends one request, not one per key. */
export const DEBOUNCE_MS = 300;
/** Retry backoff after a network error, capped so a long outage is noticed soon after it ends. */
export const RETRY_MS = [1000, 2000, 4000, 8000, 15000];

export function draftFromDoc(doc: AnnotationDoc): Draft {
  return {
    spans: doc.spans
      .map((s): Span => makeSpan({
        start: s.start, end: s.end, label: s.label, attrs: s.attrs ?? {},
        origin: (s.origin as Span["origin"]) ?? "human", suggestion: s.suggestion ?? null,
      }))
      .sort((a, b) => a.start - b.start || b.end - a.end || a.label.localeCompare(b.label)),
    rejected: [...doc.rejected_suggestions].sort((a, b) => a - b),
    stance: { ...doc.stance },
    frames: [...doc.frames],
    primary_frame: doc.primary_frame ?? "",
    notes: doc.notes ?? "",
  };
}

/** The document fields a draft determines, in a stable order (used to compare and to send). */
export function bodyOf(d: Draft, ids: Map<string, number>) {
  return {
    stance: d.stance,
    frames: d.frames,
    primary_frame: d.primary_frame,
    notes: d.notes,
    spans: d.spans.map((s): ServerSpan => {
      const out: ServerSpan = { start: s.start, end: s.end, label: s.label, attrs: s.attrs, suggestion: s.suggestion };
      const id = ids.get(s.key);
      if (id !== undefined) out.id = id;
      return out;
    }),
    rejected_suggestions: d.rejected,
  };
}

const sameDraft = (a: Draft, b: Draft) => JSON.stringify(bodyOf(a, new Map())) === JSON.stringify(bodyOf(b, new Map()));

export interface Backup {
  base: number;
  draft: Draft;
}

export interface SaverOptions {
  assignmentId: number;
  doc: AnnotationDoc;
  put: (body: object) => Promise<AnnotationDoc>;
  onState: (s: SaveState) => void;
  storage?: Storage | null;
  debounceMs?: number;
  retryMs?: number[];
}

export class AutoSaver {
  version: number;
  private ids = new Map<string, number>();
  private saved: Draft;
  private pending: Draft;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private attempt = 0;
  private stopped = false;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  state: SaveState = { kind: "saved" };

  constructor(private readonly o: SaverOptions) {
    this.version = o.doc.version;
    this.rememberIds(o.doc);
    this.saved = draftFromDoc(o.doc);
    this.pending = this.saved;
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
  }

  private get key() {
    return `standpoint:draft:${this.o.assignmentId}`;
  }

  /** A locally kept draft newer than the server's copy (after a reload while offline), if any. */
  backup(): Backup | null {
    try {
      const raw = this.o.storage?.getItem(this.key);
      if (!raw) return null;
      const b = JSON.parse(raw) as Backup;
      return sameDraft(b.draft, this.saved) ? null : b;
    } catch {
      return null;
    }
  }

  private rememberIds(doc: AnnotationDoc) {
    this.ids = new Map(doc.spans.filter((s) => s.id != null).map((s) => [`${s.start}:${s.end}:${s.label}`, s.id!]));
  }

  private setState(s: SaveState) {
    this.state = s;
    this.o.onState(s);
  }

  get dirty(): boolean {
    return !sameDraft(this.pending, this.saved);
  }

  /** The annotator changed something: mirror it locally and schedule a save. */
  update(d: Draft) {
    this.pending = d;
    if (this.stopped) return;
    try {
      if (this.dirty) this.o.storage?.setItem(this.key, JSON.stringify({ base: this.version, draft: d }));
    } catch {
      /* storage full or disabled: the server copy is still the source of truth */
    }
    if (this.state.kind === "conflict" || this.state.kind === "closed") return;
    if (!this.dirty) {
      if (!this.inFlight && this.state.kind !== "offline") this.setState({ kind: "saved" });
      return;
    }
    if (this.state.kind !== "offline") this.setState({ kind: "saving" });
    this.schedule(this.o.debounceMs ?? DEBOUNCE_MS);
  }

  private schedule(ms: number) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.send();
    }, ms);
  }

  private onOnline = () => {
    if (this.state.kind === "offline") this.schedule(0);
  };

  private async send(): Promise<void> {
    if (this.inFlight || this.stopped) return;
    if (!this.dirty) {
      this.setState({ kind: "saved" });
      this.settle();
      return;
    }
    const sending = this.pending;
    this.setState({ kind: "saving" });
    this.inFlight = (async () => {
      try {
        const doc = await this.o.put({ version: this.version, ...bodyOf(sending, this.ids) });
        this.attempt = 0;
        this.version = doc.version;
        this.rememberIds(doc);
        this.saved = sending;
        if (!this.dirty) {
          try {
            this.o.storage?.removeItem(this.key);
          } catch {
            /* ignore */
          }
        }
      } catch (e) {
        this.fail(e);
      } finally {
        this.inFlight = null;
      }
    })();
    await this.inFlight;
    if (this.state.kind === "saving") {
      if (this.dirty) void this.send();
      else {
        this.setState({ kind: "saved" });
        this.settle();
      }
    }
  }

  private fail(e: unknown) {
    if (e instanceof NetworkError) {
      const delays = this.o.retryMs ?? RETRY_MS;
      const wait = delays[Math.min(this.attempt, delays.length - 1)];
      this.attempt++;
      this.setState({ kind: "offline", retryInMs: wait });
      this.schedule(wait);
      return;
    }
    if (e instanceof ApiError && e.code === "stale_write") {
      const current = (e.details as { current?: AnnotationDoc } | null)?.current;
      if (current) {
        this.setState({ kind: "conflict", current });
        this.settle(e);
        return;
      }
    }
    if (e instanceof ApiError && e.code === "assignment_closed") {
      this.setState({ kind: "closed" });
      this.settle(e);
      return;
    }
    this.setState({ kind: "error", message: e instanceof Error ? e.message : String(e) });
    this.settle(e);
  }

  private settle(err?: unknown) {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) (err ? w.reject(err) : w.resolve());
  }

  /** Save now and resolve once the server has everything (used before submit). */
  flush(): Promise<void> {
    if (this.state.kind === "conflict") return Promise.reject(new Error("Resolve the conflict first."));
    if (!this.dirty && !this.inFlight) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.state.kind === "error") this.setState({ kind: "saving" });
      if (!this.inFlight) this.schedule(0);
    });
  }

  /** A local backup was made on an older version than the server's: let the annotator choose. */
  conflictWith(current: AnnotationDoc) {
    this.setState({ kind: "conflict", current });
  }

  /** After a conflict: keep the local draft (write it over the server's version, knowingly). */
  keepMine(current: AnnotationDoc) {
    this.version = current.version;
    this.rememberIds(current);
    this.saved = draftFromDoc(current);
    this.setState({ kind: "saving" });
    this.schedule(0);
  }

  /** After a conflict: take the server's version; returns the draft to show. */
  takeTheirs(current: AnnotationDoc): Draft {
    this.version = current.version;
    this.rememberIds(current);
    this.saved = draftFromDoc(current);
    this.pending = this.saved;
    try {
      this.o.storage?.removeItem(this.key);
    } catch {
      /* ignore */
    }
    this.setState({ kind: "saved" });
    return this.saved;
  }

  /** The server accepted a submit/skip: nothing more to save for this assignment. */
  close() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.o.storage?.removeItem(this.key);
    } catch {
      /* ignore */
    }
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
  }
}
