import { describe, expect, it } from "vitest";
import { curlLine, DEFAULT_FORM, exportBody } from "./exports";

describe("export requests", () => {
  it("sends only what differs from the server's defaults", () => {
    expect(exportBody(DEFAULT_FORM)).toEqual({ format: "jsonl", options: {} });
    expect(exportBody({ ...DEFAULT_FORM, format: "conllu", submitted_only: false, targets: ["b", "a"], split: true }))
      .toEqual({ format: "conllu", options: { submitted_only: false, targets: ["a", "b"],
        split: { seed: 0, train: 80, dev: 10, test: 10 } } });
  });
  it("writes a curl line with the token as a variable and the body shell-quoted", () => {
    const line = curlLine("https://sp.example", 7, { ...DEFAULT_FORM, format: "conllu", published_from: "2025-01-01" });
    expect(line).toContain('-H "Authorization: Token $STANDPOINT_TOKEN"');
    expect(line).toContain(`-d '{"format":"conllu","options":{"published_from":"2025-01-01"}}'`);
    expect(line.endsWith(" https://sp.example/api/v1/projects/7/exports/")).toBe(true);
  });
});
