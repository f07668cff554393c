/** Split an article into runs for highlighting spans given in code point offsets (the API's
 * unit); the runs are sliced in UTF-16 through TextIndex, so an emoji never shifts a mark. */
import { TextIndex } from "../offsets";

export interface Mark {
  start: number;
  end: number;
  kind: string;
  title: string;
}

export interface Run {
  text: string;
  marks: Mark[];
}

export function runs(index: TextIndex, marks: Mark[]): Run[] {
  const cuts = new Set<number>([0, index.cpLength]);
  for (const m of marks) {
    cuts.add(Math.max(0, Math.min(m.start, index.cpLength)));
    cuts.add(Math.max(0, Math.min(m.end, index.cpLength)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out: Run[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const covering = marks.filter((m) => m.start <= a && m.end >= b);
    const text = index.slice(a, b);
    const last = out[out.length - 1];
    if (last && covering.length === 0 && last.marks.length === 0) last.text += text;
    else out.push({ text, marks: covering });
  }
  return out;
}
