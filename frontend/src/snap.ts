/**
 * Span boundaries from a browser selection, in UTF-16 units of the article text.
 *
 * By default a selection grows to whole words (Intl.Segmenter, so CJK and Thai words work too)
 * and loses surrounding white space: annotators sweep roughly and still get clean spans. With a
 * modifier held the selection is kept exact, but never splits a grapheme (👍🏽, e + U+0301), because
 * half an emoji is never what anybody meant.
 */

export interface Range16 {
  start: number;
  end: number;
}

const cache = new WeakMap<object, { words: Intl.Segments; graphemes: Intl.Segments }>();
const keyFor = new Map<string, object>();

function segmentsOf(text: string) {
  // Keyed through a small map so one article's segmenters are built once, not per keypress.
  let key = keyFor.get(text);
  if (!key) {
    if (keyFor.size > 8) keyFor.clear();
    key = {};
    keyFor.set(text, key);
  }
  let s = cache.get(key);
  if (!s) {
    s = {
      words: new Intl.Segmenter(undefined, { granularity: "word" }).segment(text),
      graphemes: new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text),
    };
    cache.set(key, s);
  }
  return s;
}

const isSpace = (s: string) => /^\s*$/u.test(s);

/** Shrink a range so it neither starts nor ends with white space. Empty if only white space. */
export function trimRange(text: string, r: Range16): Range16 {
  let { start, end } = r;
  while (start < end && /\s/u.test(text[start])) start++;
  while (end > start && /\s/u.test(text[end - 1])) end--;
  return { start, end };
}

function snap(segments: Intl.Segments, text: string, r: Range16): Range16 {
  const t = trimRange(text, r);
  if (t.start >= t.end) return t;
  const first = segments.containing(t.start);
  const last = segments.containing(t.end - 1);
  const start = first ? first.index : t.start;
  const end = last ? last.index + last.segment.length : t.end;
  return trimRange(text, { start, end });
}

/** Grow a selection to whole tokens (words, numbers, emoji, punctuation marks). */
export function snapToTokens(text: string, r: Range16): Range16 {
  return snap(segmentsOf(text).words, text, r);
}

/** Keep a selection exact but never cut a grapheme cluster in two. */
export function snapToGraphemes(text: string, r: Range16): Range16 {
  return snap(segmentsOf(text).graphemes, text, r);
}

export function isBlank(text: string, r: Range16): boolean {
  return r.start >= r.end || isSpace(text.slice(r.start, r.end));
}
