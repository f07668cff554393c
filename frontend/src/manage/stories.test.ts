import { describe, expect, it } from "vitest";
import { quoted } from "./stories";

describe("quotations on the story screen", () => {
  it("keeps a quote span's own marks and adds them to bare text", () => {
    expect(quoted("“We will not back down,”")).toBe("“We will not back down,”");
    expect(quoted("\"Not eternal\"")).toBe("\"Not eternal\"");
    expect(quoted("window for compromise")).toBe("“window for compromise”");
  });
});
