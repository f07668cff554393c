import { describe, expect, it } from "vitest";
import { parseTargets, slugify } from "./slug";

describe("slugify", () => {
  it("keeps letters and digits, folds accents, joins with dashes", () => {
    expect(slugify("Élections 2025 : Paris!")).toBe("elections-2025-paris");
    expect(slugify("  --  ")).toBe("");
    expect(slugify("a".repeat(120)).length).toBe(100);
  });
});

describe("parseTargets", () => {
  it("reads one target per line, with an optional key", () => {
    expect(parseTargets("Western troops in Ukraine\n\nsanctions: EU sanctions on Russia\n")).toEqual([
      { key: "western-troops-in-ukraine", name: "Western troops in Ukraine", position: 0 },
      { key: "sanctions", name: "EU sanctions on Russia", position: 1 },
    ]);
  });
});
