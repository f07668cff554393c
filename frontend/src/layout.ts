/**
 * Turns overlapping spans into flat, renderable text segments.
 *
 * Each span gets a lane (interval-graph colouring: nested or crossing spans never share one), and
 * every maximal stretch of text covered by the same set of spans (and within one line) becomes one segment. The article
 * is then a flat list of <span>s whose underline bars, one per lane, keep nesting legible, with no
 * nested DOM and O((n + m) log m) work for m spans over n segments.
 */
import type { TextIndex } from "./offsets";

export interface Item {
  /** Stable identity: span key or "sugg:<id>". */
  id: string;
  start: number; // code points
  end: number;
  label: string;
  suggested: boolean;
}

export interface Placed extends Item {
  lane: number;
  u16Start: number;
  u16End: number;
}

export interface Segment {
  /** UTF-16 offsets into the article text (what the DOM and the Selection count in). */
  start: number;
  end: number;
  /** Indexes into `placed`, ordered by lane. */
  cover: number[];
}

export interface Layout {
  placed: Placed[];
  segments: Segment[];
  lanes: number;
}

export function layoutSpans(index: TextIndex, items: readonly Item[]): Layout {
  const placed: Placed[] = items
    .filter((it) => it.end > it.start)
    .map((it) => ({ ...it, lane: 0, u16Start: index.toUtf16(it.start), u16End: index.toUtf16(it.end) }))
    .sort((a, b) => a.start - b.start || b.end - a.end || (a.suggested === b.suggested ? 0 : a.suggested ? 1 : -1));

  // Greedy lane assignment, outer spans first so they sit on the lowest lane.
  const laneEnds: number[] = [];
  for (const p of placed) {
    let lane = laneEnds.findIndex((end) => end <= p.start);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(0);
    }
    laneEnds[lane] = p.end;
    p.lane = lane;
  }

  const bounds = new Set<number>([0, index.text.length]);
  // Segments never cross a line break, so the renderer can group them into paragraph blocks.
  const text = index.text;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) bounds.add(i + 1);
  for (const p of placed) {
    bounds.add(p.u16Start);
    bounds.add(p.u16End);
  }
  const cuts = [...bounds].sort((a, b) => a - b);

  // Sweep: events sorted by position; the active set changes only at cuts.
  const starts = placed.map((_, i) => i).sort((a, b) => placed[a].u16Start - placed[b].u16Start);
  const active = new Set<number>();
  const segments: Segment[] = [];
  let si = 0;
  for (let c = 0; c < cuts.length - 1; c++) {
    const from = cuts[c];
    const to = cuts[c + 1];
    for (const i of [...active]) if (placed[i].u16End <= from) active.delete(i);
    while (si < starts.length && placed[starts[si]].u16Start <= from) {
      if (placed[starts[si]].u16End > from) active.add(starts[si]);
      si++;
    }
    const cover = [...active].sort((a, b) => placed[a].lane - placed[b].lane);
    segments.push({ start: from, end: to, cover });
  }
  return { placed, segments, lanes: laneEnds.length };
}
