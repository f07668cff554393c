import { describe, expect, it } from "vitest";
import { summary } from "./audit";
import { guessMappings } from "./codebook";
import type { LabelSchema } from "./types";

const schema = (stance: string[]): LabelSchema => ({
  version: 1, stance_labels: stance, stance_ordered: false, frames: ["A"], frames_required: "none",
  primary_frame_required: false, span_labels: ["PERSON"],
});

describe("guessMappings", () => {
  it("maps a label replaced on its own line to the new one", () => {
    expect(guessMappings(schema(["FAVOR", "OPPOSE"]), { stance_labels: ["FAVOR", "AGAINST"] }))
      .toEqual({ stance_labels: { OPPOSE: "AGAINST" } });
  });
  it("guesses nothing for a removal or a reorder", () => {
    expect(guessMappings(schema(["FAVOR", "OPPOSE"]), { stance_labels: ["FAVOR"] })).toEqual({});
    expect(guessMappings(schema(["FAVOR", "OPPOSE"]), { stance_labels: ["OPPOSE", "FAVOR"] })).toEqual({});
  });
});

describe("audit summary", () => {
  it("says what a codebook change did", () => {
    const text = summary({
      id: 1, created_at: "", actor: { id: 1, username: "admin" }, action: "codebook.change", object_type: "project",
      object_id: "1", object_repr: "P", before: { label_schema: { version: 1 } },
      after: { label_schema: { version: 2 }, mappings: { stance_labels: { OPPOSE: "AGAINST" } },
               migrated: [{ label: "OPPOSE", total: 3 }] },
    });
    expect(text).toBe("version 1 → 2; stance_labels: OPPOSE → AGAINST; 3 uses of OPPOSE migrated");
  });
  it("says who got which role", () => {
    expect(summary({ id: 2, created_at: "", actor: { id: 1, username: "a" }, action: "membership.update",
      object_type: "membership", object_id: "3", object_repr: "", before: { user: "ana", role: "annotator" },
      after: { user: "ana", role: "reviewer" } })).toBe("ana: annotator → reviewer");
  });
});
