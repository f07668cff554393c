/** The project's suggestion models (issue 16): labels per target against the training threshold,
 * every trained version with its cross-validated metrics beside the majority baseline, the
 * learning curve of the active (or newest) version, a train button and "make active". */
import type { ChartConfiguration } from "chart.js";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ChartBox, PALETTE } from "./chart";
import { api } from "./http";
import type { ProjectDoc } from "./types";

interface TargetMetrics {
  macro_f1: number;
  f_avg: number | null;
  n: number;
  baseline: { macro_f1: number; f_avg: number | null };
}

export interface ModelDoc {
  version: number;
  status: string;
  is_active: boolean;
  stale: boolean;
  created_at: string;
  trigger: string;
  algorithm: string;
  train_size: number;
  train_seconds: number | null;
  codebook_version: number;
  metrics: {
    targets?: Record<string, TargetMetrics>;
    frames?: { micro_f1: number; macro_f1: number; baseline: { micro_f1: number; macro_f1: number } } | null;
    f_avg?: number | null;
    macro_f1?: number | null;
    baseline_f_avg?: number | null;
  };
  learning_curve: { target: string; labels: number; score: number | null; baseline: number | null }[];
  untrained: Record<string, string>;
  error: string;
}

interface ModelsDoc {
  active_version: number | null;
  models: ModelDoc[];
  labels: { min_labels: number; targets: { key: string; labels: number; needed: number; state: string }[] };
  settings: Record<string, unknown>;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v.toFixed(3));

export function curveConfig(model: ModelDoc): ChartConfiguration {
  const targets = [...new Set(model.learning_curve.map((p) => p.target))];
  const sizes = [...new Set(model.learning_curve.map((p) => p.labels))].sort((a, b) => a - b);
  const series = (t: string, field: "score" | "baseline") =>
    sizes.map((n) => model.learning_curve.find((p) => p.target === t && p.labels === n)?.[field] ?? null);
  return {
    type: "line",
    data: {
      labels: sizes.map(String),
      datasets: [
        ...targets.map((t, i) => ({ label: t, data: series(t, "score"), borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true })),
        ...targets.map((t, i) => ({ label: `${t} (majority baseline)`, data: series(t, "baseline"),
          borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
          borderDash: [4, 4], pointRadius: 0, spanGaps: true })),
      ],
    },
    options: { scales: { y: { min: 0, max: 1, title: { display: true, text: "F_avg (macro-F1 without favour/against)" } },
      x: { title: { display: true, text: "labelled articles" } } } },
  };
}

export function Models({ project }: { project: ProjectDoc }) {
  const [data, setData] = useState<ModelsDoc | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = project.role === "admin";
  const load = () => api<ModelsDoc>("GET", `projects/${project.id}/models/`).then(setData, (e) => setError(String(e.message ?? e)));
  useEffect(() => {
    load();
    const timer = window.setInterval(load, 5000); // a training run finishes in the background
    return () => window.clearInterval(timer);
  }, [project.id]);
  const shown = data?.models.find((m) => m.is_active) ?? data?.models.find((m) => m.status === "ready");
  const curve = useMemo(() => (shown && shown.learning_curve.length ? curveConfig(shown) : null), [shown]);

  const act = async (f: () => Promise<unknown>, done: string) => {
    setBusy(true);
    try {
      await f();
      setNote(done);
      setError(null);
      await load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const train = () => act(() => api("POST", `projects/${project.id}/models/train/`), "Training queued: the new version appears below when it is done.");
  const activate = (v: number) => act(() => api("POST", `projects/${project.id}/models/${v}/activate/`), `Version ${v} is now active.`);

  if (!data) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;
  return (
    <section class="m-models" data-testid="models">
      <div class="m-actions">
        {admin && <button type="button" class="m-btn m-primary" disabled={busy} onClick={train}>Train now</button>}
        <span class="m-muted m-small" role="status">{note ?? ""}</span>
      </div>
      {error && <p class="m-error" role="alert">{error}</p>}
      <div class="m-panel">
        <h3>Labels per target <span class="m-muted m-small">(gold, else the annotators' majority; training needs {data.labels.min_labels})</span></h3>
        <table class="m-table" data-testid="label-status">
          <thead><tr><th>Target</th><th class="m-num">Labels</th><th>State</th></tr></thead>
          <tbody>
            {data.labels.targets.map((t) => (
              <tr key={t.key}><td>{t.key}</td><td class="m-num">{t.labels}</td><td>{t.state}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown && (
        <div class="m-panel" data-testid="model-metrics">
          <h3>Version {shown.version}{shown.is_active ? " (active)" : ""}: cross-validated metrics</h3>
          <p class="m-muted m-small">{shown.algorithm} · {shown.train_size} labelled articles · trained in {shown.train_seconds ?? "–"} s
            {shown.stale ? " · stale: trained on an older codebook, gives no suggestions" : ""}</p>
          <table class="m-table">
            <thead><tr><th>Target</th><th class="m-num">n</th><th class="m-num">macro-F1</th><th class="m-num">F_avg</th>
              <th class="m-num">baseline F_avg</th></tr></thead>
            <tbody>
              {Object.entries(shown.metrics.targets ?? {}).map(([k, m]) => (
                <tr key={k}><td>{k}</td><td class="m-num">{m.n}</td><td class="m-num">{fmt(m.macro_f1)}</td>
                  <td class="m-num">{fmt(m.f_avg)}</td><td class="m-num">{fmt(m.baseline.f_avg)}</td></tr>
              ))}
              {shown.metrics.frames && (
                <tr><td>frames (micro / macro-F1)</td><td class="m-num" /><td class="m-num">{fmt(shown.metrics.frames.macro_f1)}</td>
                  <td class="m-num">{fmt(shown.metrics.frames.micro_f1)} micro</td>
                  <td class="m-num">{fmt(shown.metrics.frames.baseline.micro_f1)} micro</td></tr>
              )}
            </tbody>
          </table>
          {Object.entries(shown.untrained).map(([k, why]) => <p key={k} class="m-muted m-small">Not trained: {why}</p>)}
          {curve && <><h3>Learning curve</h3><ChartBox config={curve} label="Learning curve: score against labelled articles, with the majority baseline dashed" height={260} /></>}
        </div>
      )}
      <div class="m-panel">
        <h3>Versions</h3>
        <table class="m-table" data-testid="model-versions">
          <thead><tr><th>Version</th><th>Status</th><th>Trained</th><th class="m-num">Articles</th><th class="m-num">F_avg</th>
            <th class="m-num">Baseline</th><th /></tr></thead>
          <tbody>
            {data.models.map((m) => (
              <tr key={m.version}>
                <td>v{m.version}{m.is_active ? " · active" : ""}</td>
                <td>{m.stale ? "stale" : m.status}{m.error ? <span class="m-muted m-small"> — {m.error}</span> : null}</td>
                <td class="m-nowrap">{new Date(m.created_at).toLocaleString()} ({m.trigger})</td>
                <td class="m-num">{m.train_size}</td>
                <td class="m-num">{fmt(m.metrics.f_avg)}</td>
                <td class="m-num">{fmt(m.metrics.baseline_f_avg)}</td>
                <td>{admin && !m.is_active && m.status === "ready" &&
                  <button type="button" class="m-btn" disabled={busy} onClick={() => activate(m.version)}>Make active</button>}</td>
              </tr>
            ))}
            {data.models.length === 0 && <tr><td colSpan={7} class="m-muted">No model trained yet.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}
