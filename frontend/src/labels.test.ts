import { describe, expect, it } from "vitest";
import { COMMAND_KEYS, assignLabelKeys } from "./labels";

const DEFAULT = ["PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
  "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL", "QUOTE", "SPEAKER"];

describe("assignLabelKeys", () => {
  it("gives the common labels their obvious letters and never a command key", () => {
    const keys = assignLabelKeys(DEFAULT);
    expect(keys.get("PERSON")).toBe("p");
    expect(keys.get("ORG")).toBe("o");
    expect(keys.get("QUOTE")).toBe("q");
    const letters = [...keys.values()];
    expect(new Set(letters).size).toBe(letters.length);
    for (const k of letters) expect(COMMAND_KEYS.has(k)).toBe(false);
    expect(keys.size).toBe(26 - COMMAND_KEYS.size);
  });

  it("works for a custom schema", () => {
    const keys = assignLabelKeys(["CLAIM", "EVIDENCE"]);
    expect(keys.get("CLAIM")).toBe("c");
    expect(keys.get("EVIDENCE")).toBe("e");
  });
});
