/**
 * The model's stance suggestions on the annotation screen (issue 16): per target the suggested
 * label and its confidence, shown as a suggestion (dashed, "suggested"), never chosen for the
 * annotator unless the project turns pre-fill on. Key 0 accepts the active target's suggestion.
 * The server records that they were shown (and which model version) when this asks for them.
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
  frames: { frame: string; confidence: number | null }[];
}

/** The suggestions for the caller's own open assignment; null while loading, when there are
 * none, or when the request fails (suggestions are a help: annotation never waits for them). */
export function useStanceSuggestions(assignmentId: number, readOnly: boolean,
  onPrefill?: (stance: Record<string, string>) => void): StanceSuggestions | null {
  const [data, setData] = useState<StanceSuggestions | null>(null);
  useEffect(() => {
    setData(null);
    if (readOnly) return;
    let live = true;
    api<StanceSuggestions>("GET", `assignments/${assignmentId}/stance-suggestions/`)
      .then((d) => {
        if (!live || !d.shown) return;
        setData(d);
        if (d.prefill && onPrefill) {
          onPrefill(Object.fromEntries(Object.entries(d.stance).map(([k, s]) => [k, s.label])));
        }
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
  !e.ctrlKey && !e.metaKey && !e.altKey && (e.key === "0" || e.code === "Digit0" || e.code === "Numpad0");

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
