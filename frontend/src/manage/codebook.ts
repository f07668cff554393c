/** Codebook edits on the Setup screen: which removed label most likely became which new one. */
import type { LabelSchema } from "./types";

export type Kind = "stance_labels" | "frames" | "span_labels";
export type Mappings = Partial<Record<Kind, Record<string, string | null>>>;

/** A removed label's most likely new name: the added label on the same line, if any (a rename
 * typed in place). Anything else is left for the admin to choose in the preview. */
export function guessMappings(before: LabelSchema, after: Record<string, unknown>): Mappings {
  const out: Mappings = {};
  for (const kind of ["stance_labels", "frames", "span_labels"] as Kind[]) {
    const old = before[kind] ?? [];
    const now = (after[kind] as string[] | undefined) ?? old;
    old.forEach((label, i) => {
      const there = now[i];
      if (!now.includes(label) && there !== undefined && !old.includes(there)) (out[kind] ??= {})[label] = there;
    });
  }
  return out;
}
