/** Slugs and target keys made from names, as the new-project form fills them in. */

/** "Élections 2025 : Paris!" → "elections-2025-paris" (what Django's SlugField accepts). */
export function slugify(name: string, max = 100): string {
  return name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, max).replace(/-+$/, "");
}

/** One target per non-blank line: "Western troops" (key made from it) or "troops: Western troops". */
export function parseTargets(text: string): Array<{ key: string; name: string; position: number }> {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((line, position) => {
    const m = line.match(/^([A-Za-z0-9_-]+)\s*:\s*(.+)$/);
    return m ? { key: m[1], name: m[2].trim(), position } : { key: slugify(line), name: line, position };
  });
}
