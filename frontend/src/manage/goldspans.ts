/**
 * Gold span editing on the adjudication screen, as plain functions: a selection becomes a span the
 * way it does on the annotator's screen (whole words; Alt: exact, but never half a grapheme), and a
 * boundary moves by one word (Alt: one grapheme). Spans are kept in code points like the API; the
 * UTF-16 of the browser only appears at the edges, through a TextIndex.
 */
import type { TextIndex } from "../offsets";
import { isBlank, type Range16, snapToGraphemes, snapToTokens } from "../snap";

export interface DraftSpan {
  key: string;
  /** a span of the stored gold: keeps its provenance */
  id?: number;
  /** the annotator's span or suggestion it was taken from */
  from_span?: number;
  start: number;
  end: number;
  label: string;
  attrs: Record<string, unknown>;
}

export const QUOTE_KINDS = ["direct", "partial", "scare"] as const;

let counter = 0;
export const newKey = (): string => `d${++counter}`;

/** A browser selection (UTF-16) as a span range in code points, snapped; null if only blanks. */
export function selectionToRange(index: TextIndex, raw: Range16, exact: boolean): { start: number; end: number } | null {
  const text = index.text;
  const r = exact ? snapToGraphemes(text, raw) : snapToTokens(text, raw);
  if (isBlank(text, r)) return null;
  return { start: index.toCodePoint(r.start, "floor"), end: index.toCodePoint(r.end, "ceil") };
}

const units = new Map<string, Array<[number, number]>>();

/** Words (white space left out) or graphemes of a text, as UTF-16 [start, end) pairs. */
function unitsOf(text: string, exact: boolean): Array<[number, number]> {
  const key = `${exact ? "g" : "w"}:${text}`;
  let out = units.get(key);
  if (!out) {
    if (units.size > 8) units.clear();
    out = [];
    const seg = new Intl.Segmenter(undefined, { granularity: exact ? "grapheme" : "word" });
    for (const s of seg.segment(text)) {
      if (!exact && /^\s+$/u.test(s.segment)) continue;
      out.push([s.index, s.index + s.segment.length]);
    }
    units.set(key, out);
  }
  return out;
}

/** Move one boundary of a span by one word (or grapheme, `exact`) left (-1) or right (+1). The
 * span never becomes empty or inverted; at the text's edge it stays where it is. */
export function moveBoundary(index: TextIndex, span: { start: number; end: number }, edge: "start" | "end",
  dir: -1 | 1, exact: boolean): { start: number; end: number } {
  const list = unitsOf(index.text, exact);
  const s = index.toUtf16(span.start);
  const e = index.toUtf16(span.end);
  let ns = s;
  let ne = e;
  if (edge === "end" && dir > 0) {
    const u = list.find(([, b]) => b > e);
    if (u) ne = u[1];
  } else if (edge === "end") {
    const u = [...list].reverse().find(([, b]) => b < e && b > s);
    if (u) ne = u[1];
  } else if (dir < 0) {
    const u = [...list].reverse().find(([a]) => a < s);
    if (u) ns = u[0];
  } else {
    const u = list.find(([a]) => a > s && a < e);
    if (u) ns = u[0];
  }
  return { start: index.toCodePoint(ns, "floor"), end: index.toCodePoint(ne, "ceil") };
}

/** Set (or with null/"" remove) one attribute of a span. */
export function withAttr(span: DraftSpan, key: string, value: unknown): DraftSpan {
  const attrs = { ...span.attrs };
  if (value === null || value === undefined || value === "") delete attrs[key];
  else attrs[key] = value;
  return { ...span, attrs };
}

/** What the decide endpoint takes for one span. */
export function spanBody(s: DraftSpan): Record<string, unknown> {
  const body: Record<string, unknown> = { start: s.start, end: s.end, label: s.label, attrs: s.attrs };
  if (s.id !== undefined) body.id = s.id;
  else if (s.from_span !== undefined) body.from_span = s.from_span;
  return body;
}

export const sameSpan = (a: { start: number; end: number; label: string }, b: { start: number; end: number; label: string }) =>
  a.start === b.start && a.end === b.end && a.label === b.label;
