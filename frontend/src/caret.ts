/**
 * The keyboard caret in the article: a run of whole tokens (words, numbers, punctuation marks;
 * never white space), moved and extended a token at a time. The article is not editable, so the
 * browser's own caret cannot move in it; this one is shown as the page's text selection, which
 * the label keys then turn into a span like a mouse selection. UTF-16 offsets, as the DOM counts.
 */
import { type Range16 } from "./snap";

const cache = new Map<string, Range16[]>();

/** The article's tokens in order (Intl.Segmenter words without the white space). */
export function tokensOf(text: string): Range16[] {
  let found = cache.get(text);
  if (!found) {
    found = [];
    for (const s of new Intl.Segmenter(undefined, { granularity: "word" }).segment(text)) {
      if (!/^\s*$/u.test(s.segment)) found.push({ start: s.index, end: s.index + s.segment.length });
    }
    if (cache.size > 8) cache.clear();
    cache.set(text, found);
  }
  return found;
}

/** anchor and focus are token indexes; the caret covers every token between them. */
export interface Caret {
  anchor: number;
  focus: number;
}

export function caretRange(tokens: readonly Range16[], c: Caret): Range16 {
  const a = tokens[Math.min(c.anchor, c.focus)];
  const b = tokens[Math.max(c.anchor, c.focus)];
  return { start: a.start, end: b.end };
}

/** The first token ending after `u16` (the token at or after an offset). */
export function tokenAt(tokens: readonly Range16[], u16: number): number {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].end <= u16) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, tokens.length - 1);
}

/** The caret covering the tokens a range touches (a mouse selection, a span). */
export function caretFor(tokens: readonly Range16[], r: Range16): Caret {
  return { anchor: tokenAt(tokens, r.start), focus: tokenAt(tokens, Math.max(r.start, r.end - 1)) };
}

/** One key press: plain arrows move the caret to the next / previous token, with Shift they
 * move its focus end only (extend or shrink). From no caret, start at `from` (a token index). */
export function moveCaret(tokens: readonly Range16[], c: Caret | null, dir: 1 | -1, extend: boolean, from = 0): Caret | null {
  if (!tokens.length) return null;
  const clamp = (i: number) => Math.max(0, Math.min(tokens.length - 1, i));
  if (!c) {
    const i = clamp(from);
    return { anchor: i, focus: i };
  }
  if (extend) return { anchor: c.anchor, focus: clamp(c.focus + dir) };
  const i = clamp(dir === 1 ? Math.max(c.anchor, c.focus) + 1 : Math.min(c.anchor, c.focus) - 1);
  return { anchor: i, focus: i };
}

/** A span's boundary moved by one token: `edge` "start" or "end", `grow` outwards or inwards.
 * Never empties the span (shrinking stops at its last token). */
export function resizeRange(tokens: readonly Range16[], r: Range16, edge: "start" | "end", grow: boolean): Range16 {
  if (!tokens.length) return r;
  const first = tokenAt(tokens, r.start);
  const last = tokenAt(tokens, Math.max(r.start, r.end - 1));
  if (edge === "end") {
    const i = grow ? Math.min(tokens.length - 1, last + 1) : Math.max(first, last - 1);
    // Growing from a boundary inside a token first completes that token.
    const end = grow && tokens[last].end > r.end ? tokens[last].end : tokens[i].end;
    return { start: r.start, end: Math.max(end, tokens[first].start + 1) };
  }
  const i = grow ? Math.max(0, first - 1) : Math.min(last, first + 1);
  const start = grow && tokens[first].start < r.start ? tokens[first].start : tokens[i].start;
  return { start: Math.min(start, r.end - 1), end: r.end };
}
