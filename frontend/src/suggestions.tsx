/**
 * The model's suggestions on the annotation screen (issue 16): per target the suggested stance
 * and its confidence, and the suggested frames (with the primary one), each shown as a suggestion
 * (dashed, "suggested"), never chosen for the annotator unless the project turns pre-fill on.
 * Key 0 accepts the active target's stance, Shift+0 the suggested frames. The server records that
 * they were shown (and which model version) when this asks for them.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import "./suggestions.css";

export interface StanceSuggestion {
  label: string;
  confidence: number | null;
  probabilities: Record<string, number>;
}

export interface StanceSuggestions {
  shown: boolean;
  reason: string;
  prefill: boolean;
  model_version: number | null;
  stance: Record<string, StanceSuggestion>;
  frames: FrameSuggestion[];
  primary_frame: string;
}

export interface FrameSuggestion {
  frame: string;
  confidence: number | null;
}

/** The suggestions for the caller's own open assignment; null while loading, when there are
 * none, or when the request fails (suggestions are a help: annotation never waits for them). */
export function useStanceSuggestions(assignmentId: number, readOnly: boolean,
  onPrefill?: (s: StanceSuggestions) => void): StanceSuggestions | null {
  const [data, setData] = useState<StanceSuggestions | null>(null);
  useEffect(() => {
    setData(null);
    if (readOnly) return;
    let live = true;
    api<StanceSuggestions>("GET", `assignments/${assignmentId}/stance-suggestions/`)
      .then((d) => {
        if (!live || !d.shown) return;
        setData(d);
        if (d.prefill && onPrefill) onPrefill(d);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [assignmentId, readOnly]);
  return data;
}

/** The accept key: 0, beside the stance keys 1–9 (letters may be span-label keys). */
export const isAcceptKey = (e: KeyboardEvent) =>
  !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey && (e.key === "0" || e.code === "Digit0" || e.code === "Numpad0");

/** Shift+0 accepts the suggested frames (by code: Shift+0 is ")" or "=" depending on the layout). */
export const isAcceptFramesKey = (e: KeyboardEvent) =>
  !e.ctrlKey && !e.metaKey && !e.altKey && e.shiftKey && e.code === "Digit0";

export const percent = (p: number | null) => (p === null ? "" : `${Math.round(p * 100)}%`);

export function SuggestedStance({ s, chosen, active, disabled, onAccept }: {
  s: StanceSuggestion | undefined; chosen: string | undefined; active: boolean; disabled: boolean; onAccept: () => void;
}) {
  if (!s) return null;
  const taken = chosen === s.label;
  return (
    <p class={`stance-suggestion${taken ? " taken" : ""}`} data-testid="stance-suggestion">
      <span class="sugg-tag">suggested</span>
      <span class="sugg-label">{s.label.toLowerCase()}</span>
      <span class="sugg-conf" title="the model's confidence">{percent(s.confidence)}</span>
      {!taken && !disabled && (
        <button type="button" class="sugg-accept" onClick={(e) => { e.stopPropagation(); onAccept(); }}>
          accept{active && <kbd>0</kbd>}
        </button>
      )}
    </p>
  );
}

/** Beside a frame the model suggests: its confidence, and whether it would be the primary one. */
export function SuggestedFrame({ s, primary, chosen }: { s: FrameSuggestion | undefined; primary: boolean; chosen: boolean }) {
  if (!s) return null;
  return (
    <span class={`frame-suggestion${chosen ? " taken" : ""}`} data-testid="frame-suggestion">
      <span class="sugg-tag">{primary ? "suggested primary" : "suggested"}</span>
      <span class="sugg-conf" title="the model's confidence">{percent(s.confidence)}</span>
    </span>
  );
}
