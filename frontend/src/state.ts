/**
 * The annotation draft and every edit an annotator can make, as pure functions.
 *
 * Offsets here are code points (the server's unit). A span's key is start:end:label, which the
 * server also keeps unique per annotation, so keys survive a reload. Pure functions keep undo/redo
 * trivial (a stack of immutable drafts) and make the whole editing model unit-testable without a DOM.
 */

export type Origin = "model" | "import" | "human";
export type Attrs = Record<string, unknown>;

export interface SpanRange {
  start: number;
  end: number;
}

/** A pre-annotation offered to every annotator (never belongs to an annotation). */
export interface Suggestion extends SpanRange {
  id: number;
  label: string;
  attrs: Attrs;
  origin: Origin;
}

/** A span the annotator confirmed, edited or added. */
export interface Span extends SpanRange {
  key: string;
  label: string;
  attrs: Attrs;
  origin: Origin;
  /** The suggestion it was made from (accepted or relabelled), if any. */
  suggestion: number | null;
}

export interface Draft {
  spans: Span[];
  rejected: number[];
  stance: Record<string, string>;
  frames: string[];
  primary_frame: string;
  notes: string;
}

export const emptyDraft = (): Draft => ({
  spans: [], rejected: [], stance: {}, frames: [], primary_frame: "", notes: "",
});

export const spanKey = (s: { start: number; end: number; label: string }) => `${s.start}:${s.end}:${s.label}`;

const byPosition = (a: SpanRange & { label: string }, b: SpanRange & { label: string }) =>
  a.start - b.start || b.end - a.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);

function withSpans(d: Draft, spans: Span[]): Draft {
  return { ...d, spans: [...spans].sort(byPosition) };
}

export function makeSpan(p: Omit<Span, "key">): Span {
  return { ...p, key: spanKey(p) };
}

/** Suggestions still waiting for a decision: not rejected, not already confirmed. */
export function pendingSuggestions(d: Draft, suggestions: readonly Suggestion[]): Suggestion[] {
  const rejected = new Set(d.rejected);
  const used = new Set<number>();
  const keys = new Set<string>();
  for (const s of d.spans) {
    if (s.suggestion != null) used.add(s.suggestion);
    keys.add(s.key);
  }
  return suggestions.filter((s) => !rejected.has(s.id) && !used.has(s.id) && !keys.has(spanKey(s)));
}

function acceptOne(d: Draft, s: Suggestion, label?: string): Draft {
  const span = makeSpan({
    start: s.start, end: s.end, label: label ?? s.label, attrs: { ...s.attrs }, origin: s.origin, suggestion: s.id,
  });
  if (d.spans.some((x) => x.key === span.key)) return d;
  return withSpans({ ...d, rejected: d.rejected.filter((id) => id !== s.id) }, [...d.spans, span]);
}

/** The pending SPEAKER suggestion on a quote's speaker mention (`attrs.speaker_span`), if any:
 * the pre-annotation proposes both, and they stand or fall together. */
export function speakerSuggestionOf(q: { label: string; attrs: Attrs }, pending: readonly Suggestion[]): Suggestion | undefined {
  const at = q.attrs?.speaker_span as SpanRange | null | undefined;
  if (q.label !== "QUOTE" || !at) return undefined;
  return pending.find((s) => s.label === "SPEAKER" && s.start === at.start && s.end === at.end);
}

/** Accept a suggestion, optionally under another label (relabel = accept as). Accepting a quote
 * also accepts the SPEAKER suggestion on its speaker mention (`suggestions`: all of them). */
export function acceptSuggestion(d: Draft, s: Suggestion, label?: string, suggestions: readonly Suggestion[] = []): Draft {
  const next = acceptOne(d, s, label);
  const speaker = (label ?? s.label) === "QUOTE" ? speakerSuggestionOf(s, pendingSuggestions(next, suggestions)) : undefined;
  return speaker ? acceptOne(next, speaker) : next;
}

export function rejectSuggestion(d: Draft, id: number): Draft {
  if (d.rejected.includes(id)) return d;
  return { ...d, rejected: [...d.rejected, id].sort((a, b) => a - b) };
}

/** Accept every pending suggestion with this label in one step (one undo). */
export function acceptAllWithLabel(d: Draft, suggestions: readonly Suggestion[], label: string): Draft {
  let next = d;
  for (const s of pendingSuggestions(d, suggestions)) if (s.label === label) next = acceptSuggestion(next, s, undefined, suggestions);
  return next;
}

/** Add a human span. If a pending suggestion matches it exactly, that suggestion is accepted
 * instead, so the link to the model's proposal is kept. */
export function addSpan(
  d: Draft, r: SpanRange, label: string, suggestions: readonly Suggestion[] = [], attrs: Attrs = {},
): Draft {
  if (r.end <= r.start) return d;
  const match = pendingSuggestions(d, suggestions).find((s) => s.start === r.start && s.end === r.end && s.label === label);
  if (match) return acceptSuggestion(d, match);
  const span = makeSpan({ start: r.start, end: r.end, label, attrs, origin: "human", suggestion: null });
  if (d.spans.some((x) => x.key === span.key)) return d;
  return withSpans(d, [...d.spans, span]);
}

/** Remove a confirmed span. One made from a suggestion also rejects that suggestion, so it does
 * not come back as a proposal after the annotator said no. */
export function removeSpan(d: Draft, key: string): Draft {
  const span = d.spans.find((s) => s.key === key);
  if (!span) return d;
  const next = withSpans(d, d.spans.filter((s) => s.key !== key));
  return span.suggestion != null ? rejectSuggestion(next, span.suggestion) : next;
}

export function relabelSpan(d: Draft, key: string, label: string): Draft {
  const span = d.spans.find((s) => s.key === key);
  if (!span || span.label === label) return d;
  const moved = makeSpan({ ...span, label });
  if (d.spans.some((s) => s.key === moved.key)) return removeSpan(d, key);
  return withSpans(d, d.spans.map((s) => (s.key === key ? moved : s)));
}

/** Move a span's boundaries (code points). Its origin becomes "human" (a person drew these
 * boundaries); the link to the suggestion it came from stays. Refused (unchanged) when the span
 * would be empty or would land on another span with the same label. */
export function resizeSpan(d: Draft, key: string, r: SpanRange): Draft {
  const span = d.spans.find((s) => s.key === key);
  if (!span || r.end <= r.start || (span.start === r.start && span.end === r.end)) return d;
  const moved = makeSpan({ ...span, start: r.start, end: r.end, origin: "human" });
  if (d.spans.some((s) => s.key === moved.key)) return d;
  return withSpans(d, d.spans.map((s) => (s.key === key ? moved : s)));
}

export const QUOTE_KINDS = ["direct", "partial", "scare"] as const;
export type QuoteKind = (typeof QUOTE_KINDS)[number];

export function quoteKindOf(attrs: Attrs | undefined): QuoteKind | null {
  const k = attrs?.kind;
  return typeof k === "string" && (QUOTE_KINDS as readonly string[]).includes(k) ? (k as QuoteKind) : null;
}

/** Set a quote's kind (direct / partial / scare; null: not said). */
export function setQuoteKind(d: Draft, quoteKey: string, kind: QuoteKind | null): Draft {
  const q = d.spans.find((s) => s.key === quoteKey);
  if (!q || q.label !== "QUOTE" || quoteKindOf(q.attrs) === kind) return d;
  const attrs: Attrs = { ...q.attrs };
  if (kind) attrs.kind = kind;
  else delete attrs.kind;
  return withSpans(d, d.spans.map((s) => (s.key === quoteKey ? { ...s, attrs } : s)));
}

/** The next kind in the cycle direct -> partial -> scare -> direct (a quote without one: direct). */
export function nextQuoteKind(k: QuoteKind | null, dir: 1 | -1 = 1): QuoteKind {
  if (!k) return dir === 1 ? "direct" : "scare";
  const i = QUOTE_KINDS.indexOf(k);
  return QUOTE_KINDS[(i + dir + QUOTE_KINDS.length) % QUOTE_KINDS.length];
}

/** Point a quote at its speaker's mention (a span elsewhere in the text). */
export function setSpeaker(d: Draft, quoteKey: string, mention: SpanRange & { text: string } | null): Draft {
  const q = d.spans.find((s) => s.key === quoteKey);
  if (!q) return d;
  const attrs: Attrs = {
    ...q.attrs,
    speaker: mention ? mention.text : null,
    speaker_span: mention ? { start: mention.start, end: mention.end } : null,
  };
  return withSpans(d, d.spans.map((s) => (s.key === quoteKey ? { ...s, attrs } : s)));
}

export function setStance(d: Draft, target: string, label: string | null): Draft {
  const stance = { ...d.stance };
  if (label) stance[target] = label;
  else delete stance[target];
  return { ...d, stance };
}

/** Toggle a frame. The first frame chosen becomes primary; dropping the primary hands it on. */
export function toggleFrame(d: Draft, frame: string, order: readonly string[] = []): Draft {
  const on = d.frames.includes(frame);
  const rank = (f: string) => (order.indexOf(f) + 1 || order.length + 1);
  const frames = on ? d.frames.filter((f) => f !== frame) : [...d.frames, frame].sort((a, b) => rank(a) - rank(b));
  let primary = d.primary_frame;
  if (on && primary === frame) primary = frames[0] ?? "";
  if (!on && !primary) primary = frame;
  return { ...d, frames, primary_frame: primary };
}

export function setPrimaryFrame(d: Draft, frame: string, order: readonly string[] = []): Draft {
  const withFrame = d.frames.includes(frame) ? d : toggleFrame(d, frame, order);
  return { ...withFrame, primary_frame: frame };
}

/** Take the model's suggested frames: add those not chosen yet (the annotator's own choices stay)
 * and make the suggested primary frame primary unless the annotator has chosen one. */
export function acceptFrames(d: Draft, frames: readonly string[], primary: string, order: readonly string[] = []): Draft {
  let out = d;
  for (const f of frames) if (!out.frames.includes(f)) out = toggleFrame(out, f, order);
  const keepOwn = d.primary_frame !== "";
  if (primary && !keepOwn && out.primary_frame !== primary) out = setPrimaryFrame(out, primary, order);
  return out;
}

export function setNotes(d: Draft, notes: string): Draft {
  return d.notes === notes ? d : { ...d, notes };
}

// ---------------------------------------------------------------- undo / redo

/** Bounded so a full day's edits of one article never grow memory without limit. */
export const HISTORY_LIMIT = 500;

export interface History {
  past: Draft[];
  present: Draft;
  future: Draft[];
  /** Consecutive edits with the same tag (typing a note) collapse into one undo step. */
  tag: string | null;
}

export const historyOf = (d: Draft): History => ({ past: [], present: d, future: [], tag: null });

export function record(h: History, next: Draft, tag: string | null = null): History {
  if (next === h.present) return h;
  if (tag !== null && tag === h.tag) return { ...h, present: next, future: [] };
  const past = [...h.past, h.present];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], tag };
}

export function undo(h: History): History {
  if (!h.past.length) return h;
  const present = h.past[h.past.length - 1];
  return { past: h.past.slice(0, -1), present, future: [h.present, ...h.future], tag: null };
}

export function redo(h: History): History {
  if (!h.future.length) return h;
  const [present, ...future] = h.future;
  return { past: [...h.past, h.present], present, future, tag: null };
}
