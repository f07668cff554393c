import { describe, expect, it } from "vitest";
import { ApiError } from "../api";
import { fieldErrors, fmtMetric, fmtSeconds, lines } from "./http";

describe("fieldErrors", () => {
  it("puts list item errors under the list field as line numbers", () => {
    const err = new ApiError(400, "invalid", "x", {
      "label_schema.frames[3]": ["duplicate 'Economic'"],
      "label_schema.stance_labels": ["must be a non-empty list of strings"],
      slug: ["already exists"],
    });
    expect(fieldErrors(err)).toEqual({
      "label_schema.frames": ["line 4: duplicate 'Economic'"],
      "label_schema.stance_labels": ["must be a non-empty list of strings"],
      slug: ["already exists"],
    });
  });

  it("keeps nested sub-fields of items and sends non-field errors to the top", () => {
    const err = new ApiError(400, "invalid", "x", { "spans[0].end": ["past the end"], non_field_errors: ["nope"] });
    expect(fieldErrors(err)).toEqual({ spans: ["line 1 (end): past the end"], "": ["nope"] });
  });

  it("uses the message when there are no details", () => {
    expect(fieldErrors(new ApiError(403, "permission_denied", "Not allowed"))).toEqual({ "": ["Not allowed"] });
    expect(fieldErrors(new Error("offline"))).toEqual({ "": ["offline"] });
  });
});

describe("formatting", () => {
  it("splits label lists by line and drops blanks", () => {
    expect(lines(" FAVOR\n\nAGAINST \r\n")).toEqual(["FAVOR", "AGAINST"]);
  });
  it("formats seconds and undefined metrics", () => {
    expect(fmtSeconds(42)).toBe("42 s");
    expect(fmtSeconds(125)).toBe("2 min 5 s");
    expect(fmtSeconds(null)).toBe("–");
    expect(fmtMetric({ value: null, reason: "one category" })).toBe("–");
    expect(fmtMetric({ value: 0.74342, reason: null })).toBe("0.743");
  });
});
