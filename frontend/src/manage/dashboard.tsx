/** Progress dashboard: articles by status, annotator throughput and median time per article,
 * label distributions per target and per source, and the agreement figures. Refreshed every
 * REFRESH_MS without reloading the page (paused while the tab is hidden). */
import type { ChartConfiguration } from "chart.js";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ChartBox, PALETTE } from "./chart";
import { StoryStancePanel } from "./stories";
import { api, fmtMetric, fmtSeconds } from "./http";
import type { Agreement, Metric, ProjectDoc, Stats, Throughput } from "./types";

const REFRESH_MS = 15_000; // fresh enough to watch a labelling session; cheap for the server

interface Data {
  stats: Stats;
  throughput: Throughput;
  agreement: Agreement;
  at: Date;
}

function usePolling(projectId: number) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const load = async () => {
      try {
        const [stats, throughput, agreement] = await Promise.all([
          api<Stats>("GET", `projects/${projectId}/stats/`),
          api<Throughput>("GET", `projects/${projectId}/throughput/`),
          api<Agreement>("GET", `projects/${projectId}/agreement/`),
        ]);
        if (live) {
          setData({ stats, throughput, agreement, at: new Date() });
          setError(null);
        }
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      }
      if (live) timer = window.setTimeout(tick, REFRESH_MS);
    };
    const tick = () => {
      if (document.hidden) timer = window.setTimeout(tick, REFRESH_MS);
      else load();
    };
    load();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [projectId]);
  return { data, error };
}

function M({ m }: { m: Metric | undefined }) {
  if (!m) return <span>–</span>;
  return <span title={m.reason ?? `${m.items} items`} class={m.value === null ? "m-muted" : ""}>{fmtMetric(m)}</span>;
}

function bar(labels: string[], datasets: Array<{ label: string; data: number[] }>, stacked = false): ChartConfiguration {
  return {
    type: "bar",
    data: { labels, datasets: datasets.map((d, i) => ({ ...d, backgroundColor: PALETTE[i % PALETTE.length] })) },
    options: { scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } } },
  };
}

/** Frames as horizontal bars: the count axis is x, and counts get whole-number ticks. */
export function framesChart(entries: Array<[string, number]>): ChartConfiguration {
  return {
    ...bar(entries.map(([f]) => f), [{ label: "annotations", data: entries.map(([, n]) => n) }]),
    options: { indexAxis: "y", plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  };
}

export function Dashboard({ project }: { project: ProjectDoc }) {
  const { data, error } = usePolling(project.id);
  const [target, setTarget] = useState<string>(project.targets[0]?.key ?? "");
  const labels = project.label_schema.stance_labels;

  const charts = useMemo(() => {
    if (!data) return null;
    const { stats, throughput } = data;
    const progress: ChartConfiguration = {
      type: "doughnut",
      data: {
        labels: ["complete", "partial", "untouched"],
        datasets: [{ data: [stats.articles_by_progress.complete, stats.articles_by_progress.partial,
          stats.articles_by_progress.untouched], backgroundColor: [PALETTE[2], PALETTE[1], "#d0d5dc"] }],
      },
      options: { plugins: { legend: { position: "right" } } },
    };
    const perDay = bar(throughput.days.map((d) => d.slice(5)),
      throughput.annotators.map((a) => ({ label: a.username, data: a.per_day })), true);
    const stance = bar(labels, project.targets.map((t) => ({
      label: t.name, data: labels.map((l) => stats.stance[t.key]?.[l] ?? 0) })));
    const sources = Object.keys(stats.stance_by_source);
    const bySource = bar(sources.map((s) => s || "(no source)"),
      labels.map((l) => ({ label: l, data: sources.map((s) => stats.stance_by_source[s]?.[target]?.[l] ?? 0) })), true);
    const frameEntries = Object.entries(stats.frames).slice(0, 15);
    const frames = framesChart(frameEntries);
    return { progress, perDay, stance, bySource, frames };
  }, [data, target]);

  if (!data) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;
  const { stats, throughput, agreement } = data;
  const a = stats.assignments;
  return (
    <section class="m-dashboard" data-testid="dashboard">
      <p class="m-muted m-small" role="status">
        Updated {data.at.toLocaleTimeString()} · refreshes every {REFRESH_MS / 1000} s
        {error && <span class="m-error"> · last refresh failed: {error}</span>}
      </p>
      <div class="m-kpis">
        <div><strong>{stats.articles}</strong><span>articles</span></div>
        <div><strong>{stats.articles_by_progress.complete}</strong><span>complete (×{stats.overlap})</span></div>
        <div><strong>{a.submitted ?? 0}</strong><span>submitted</span></div>
        <div><strong>{(a.assigned ?? 0) + (a.in_progress ?? 0)}</strong><span>in progress</span></div>
        <div><strong>{a.skipped ?? 0}</strong><span>skipped</span></div>
      </div>
      <div class="m-panels">
        <div class="m-panel"><h3>Articles by status</h3><ChartBox config={charts!.progress} label="Articles by status" /></div>
        <div class="m-panel"><h3>Submissions per day</h3><ChartBox config={charts!.perDay} label="Submissions per day per annotator" /></div>
      </div>
      <div class="m-panel">
        <h3>Annotators</h3>
        <table class="m-table" data-testid="annotators">
          <thead><tr><th>Annotator</th><th>Submitted</th><th>In progress</th><th>Skipped</th><th>Median time / article</th><th>Last submission</th></tr></thead>
          <tbody>
            {stats.annotators.map((s) => {
              const t = throughput.annotators.find((x) => x.id === s.id);
              return (
                <tr key={s.id}>
                  <td>{s.username}</td><td>{s.submitted}</td><td>{s.assigned + s.in_progress}</td><td>{s.skipped}</td>
                  <td>{fmtSeconds(t?.median_seconds)}</td>
                  <td class="m-muted">{t?.last_submitted_at ? new Date(t.last_submitted_at).toLocaleString() : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="m-panels">
        <div class="m-panel"><h3>Stance per target</h3><ChartBox config={charts!.stance} label="Stance label distribution per target" /></div>
        <div class="m-panel">
          <h3>Stance per source outlet{" "}
            <select aria-label="Target" value={target} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)}>
              {project.targets.map((t) => <option key={t.key} value={t.key}>{t.name}</option>)}
            </select>
          </h3>
          <ChartBox config={charts!.bySource} label="Stance per source outlet" />
        </div>
      </div>
      <div class="m-panel"><h3>Frames</h3><ChartBox config={charts!.frames} label="Frame distribution" height={300} /></div>
      <AgreementPanel agreement={agreement} />
      <StoryStancePanel project={project} />
    </section>
  );
}

export function AgreementPanel({ agreement }: { agreement: Agreement }) {
  const names = Object.fromEntries(agreement.annotators.map((a) => [a.id, a.username]));
  const ag = agreement.articles;
  return (
    <div class="m-panel" data-testid="agreement">
      <h3>Agreement</h3>
      <p class="m-muted">
        {ag.compared} articles with two or more annotations compared; {ag.single_annotator_excluded} with a single
        annotator excluded. A dash means undefined (hover for the reason).
      </p>
      <table class="m-table">
        <thead><tr><th>Target</th><th>Krippendorff α</th><th>Fleiss κ</th><th>Mean Cohen κ</th><th>% agreement</th><th>Items</th></tr></thead>
        <tbody>
          {agreement.stance.map((s) => (
            <tr key={s.target} data-target={s.target}>
              <td>{s.name} <span class="m-muted m-small">({s.level})</span></td>
              <td class="m-num" data-metric="alpha"><M m={s.alpha} /></td>
              <td class="m-num"><M m={s.fleiss_kappa} /></td>
              <td class="m-num"><M m={s.cohen_kappa_mean} /></td>
              <td class="m-num"><M m={s.percent_agreement} /></td>
              <td class="m-num">{s.items}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {agreement.stance.some((s) => s.cohen_kappa_pairs.length > 0) && (
        <details>
          <summary>Pairwise Cohen's κ</summary>
          <table class="m-table">
            <thead><tr><th>Target</th><th>Pair</th><th>κ</th><th>Shared items</th></tr></thead>
            <tbody>
              {agreement.stance.flatMap((s) => s.cohen_kappa_pairs.map((p) => (
                <tr key={`${s.target}-${p.a}-${p.b}`}>
                  <td>{s.name}</td><td>{names[p.a] ?? p.a} × {names[p.b] ?? p.b}</td>
                  <td class="m-num"><M m={p.kappa} /></td><td class="m-num">{p.kappa.items}</td>
                </tr>
              )))}
            </tbody>
          </table>
        </details>
      )}
      <div class="m-panels">
        <div>
          <h4>Frames</h4>
          <p>Mean Jaccard of frame sets: <strong><M m={agreement.frames.mean_jaccard} /></strong>;
            primary frame α: <strong><M m={agreement.frames.primary_frame_alpha} /></strong></p>
          <table class="m-table">
            <thead><tr><th>Frame</th><th>α (presence)</th><th>Chosen</th></tr></thead>
            <tbody>
              {agreement.frames.per_frame.filter((f) => f.chosen > 0).map((f) => (
                <tr key={f.frame}><td>{f.frame}</td><td class="m-num"><M m={f.alpha} /></td><td class="m-num">{f.chosen}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <h4>Spans (pairwise F1)</h4>
          <table class="m-table">
            <thead><tr><th>Label</th><th>Exact</th><th>Overlap</th><th>Spans</th></tr></thead>
            <tbody>
              {agreement.spans.per_label.map((s) => (
                <tr key={s.label}><td>{s.label}</td><td class="m-num"><M m={s.exact_f1} /></td>
                  <td class="m-num"><M m={s.overlap_f1} /></td><td class="m-num">{s.spans}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {agreement.vs_gold.length > 0 && (
        <>
          <h4>Annotators against gold</h4>
          <table class="m-table" data-testid="vs-gold">
            <thead><tr><th>Annotator</th><th>Articles</th>
              {agreement.stance.map((s) => <th key={s.target}>{s.name}: acc / κ</th>)}
              <th>Frames Jaccard</th><th>Spans F1 (exact / overlap)</th></tr></thead>
            <tbody>
              {agreement.vs_gold.map((g) => (
                <tr key={g.annotator}>
                  <td>{g.username}</td><td class="m-num">{g.items}</td>
                  {agreement.stance.map((s) => (
                    <td key={s.target} class="m-num"><M m={g.stance[s.target]?.accuracy} /> / <M m={g.stance[s.target]?.kappa} /></td>
                  ))}
                  <td class="m-num"><M m={g.frames_jaccard} /></td>
                  <td class="m-num"><M m={g.spans_exact_f1} /> / <M m={g.spans_overlap_f1} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
