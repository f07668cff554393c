/** Span label keys and colours, derived from the project's label schema so every project works. */

/** Letters taken by commands; everything else may become a label key. */
export const COMMAND_KEYS = new Set(["a", "x", "j", "k", "s", "t", "m"]);

/** Labels annotators use most get first pick of the letters (and the obvious one). */
const PRIORITY = ["PERSON", "ORG", "GPE", "QUOTE", "SPEAKER", "NORP", "LOC"];
const PREFERRED: Record<string, string> = { PERSON: "p", ORG: "o", GPE: "g", QUOTE: "q", SPEAKER: "e", NORP: "n", LOC: "l" };

/** label -> lower-case letter. Labels beyond the free letters get none (the legend still works). */
export function assignLabelKeys(labels: readonly string[]): Map<string, string> {
  const taken = new Set(COMMAND_KEYS);
  const out = new Map<string, string>();
  const ordered = [...PRIORITY.filter((l) => labels.includes(l)), ...labels.filter((l) => !PRIORITY.includes(l))];
  const take = (label: string, k: string) => {
    out.set(label, k);
    taken.add(k);
  };
  for (const label of ordered) {
    const pref = PREFERRED[label];
    if (pref && !taken.has(pref)) {
      take(label, pref);
      continue;
    }
    const fromName = [...label.toLowerCase()].find((c) => c >= "a" && c <= "z" && !taken.has(c));
    if (fromName) take(label, fromName);
  }
  for (const label of ordered) {
    if (out.has(label)) continue;
    const free = [..."abcdefghijklmnopqrstuvwxyz"].find((c) => !taken.has(c));
    if (!free) break;
    take(label, free);
  }
  return out;
}

// Calm, distinguishable hues (readable as 3px bars and as 18% tints on white).
const FIXED: Record<string, string> = {
  PERSON: "#2f6f9f", ORG: "#8a5a9e", GPE: "#2e8b6a", QUOTE: "#c27a1a", SPEAKER: "#b24a5a", NORP: "#5a7d2a",
  LOC: "#1f8a8a", DATE: "#7a7a7a", EVENT: "#a0522d",
};
const PALETTE = ["#4c6fbf", "#b0672e", "#3d8f5c", "#9a4f8f", "#2b8a9e", "#a35d5d", "#6f7f2f", "#5e5fa8", "#8c6d3f",
  "#3f7f7f", "#a2476e", "#55799a"];

export function labelColors(labels: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  for (const l of labels) out.set(l, FIXED[l] ?? PALETTE[i++ % PALETTE.length]);
  return out;
}

/** #rrggbb + alpha -> rgba(), for tints. */
export function tint(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
