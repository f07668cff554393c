/** Exports of a project (admins, reviewers, exporters): every format and option with its help,
 * start, live progress, history with download, and the curl line that does the same. The texts
 * follow annotate/exports/README.md and api/exports/serializers.ExportOptions. */
import { useEffect, useState } from "preact/hooks";
import { useLoad } from "./app";
import { ApiError, api, type FieldErrors, fieldErrors } from "./http";
import { Errors } from "./setup";
import type { ProjectDoc } from "./types";

export interface ExportJobDoc {
  id: number;
  format: string;
  options: Record<string, unknown>;
  status: "queued" | "running" | "done" | "failed";
  progress: number;
  total: number;
  processed: number;
  file_name: string;
  size_bytes: number | null;
  sha256: string;
  error: string;
  requested_by: string | null;
  created_at: string;
  finished_at: string | null;
  download_url: string | null;
}

export const FORMATS: Array<[string, string, string]> = [
  ["jsonl", "JSON Lines", "One article per line: text, stance, frames, spans, gold. Read with pandas.read_json(p, lines=True) or datasets.load_dataset(\"json\", data_files=p)."],
  ["conll2003", "CoNLL-2003", "Token per line with BIO tags (.conll; a .zip with a split). Read with python -m spacy convert FILE OUT -c ner."],
  ["conllu", "CoNLL-U", "Sentences, tokens, lemmas, tags and dependencies, spans in MISC (.conllu; a .zip with a split). Read with conllu.parse(text)."],
  ["spacy", "spaCy DocBin", "A .spacy DocBin (up to 1,000 articles, no split), else a .spacy.zip of shards. Use with spacy train --paths.train."],
];

export interface ExportForm {
  format: string;
  labels: string;
  submitted_only: boolean;
  published_from: string;
  published_to: string;
  targets: string[];
  span_layer: string;
  user_names: boolean;
  include_suggestions: boolean;
  split: boolean;
  seed: number;
  train: number;
  dev: number;
  test: number;
}

export const DEFAULT_FORM: ExportForm = {
  format: "jsonl", labels: "annotators", submitted_only: true, published_from: "", published_to: "",
  targets: [], span_layer: "entities", user_names: false, include_suggestions: false,
  split: false, seed: 0, train: 80, dev: 10, test: 10,
};

/** The request body: only options that differ from the server's defaults (the job stores them all). */
export function exportBody(f: ExportForm): { format: string; options: Record<string, unknown> } {
  const options: Record<string, unknown> = {};
  if (f.labels !== "annotators") options.labels = f.labels;
  if (!f.submitted_only) options.submitted_only = false;
  if (f.published_from) options.published_from = f.published_from;
  if (f.published_to) options.published_to = f.published_to;
  if (f.targets.length) options.targets = [...f.targets].sort();
  if (f.span_layer !== "entities") options.span_layer = f.span_layer;
  if (f.user_names) options.user_names = true;
  if (f.include_suggestions) options.include_suggestions = true;
  if (f.split) options.split = { seed: f.seed, train: f.train, dev: f.dev, test: f.test };
  return { format: f.format, options };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The same export from a shell; the token stays a variable, never a real key on screen. */
export function curlLine(origin: string, projectId: number, f: ExportForm): string {
  return `curl -sS -X POST -H "Authorization: Token $STANDPOINT_TOKEN" -H "Content-Type: application/json" `
    + `-d ${shellQuote(JSON.stringify(exportBody(f)))} ${origin}/api/v1/projects/${projectId}/exports/`;
}

const fmtSize = (n: number | null) =>
  n === null ? "–" : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;

function progressText(job: ExportJobDoc): string {
  if (job.status === "done") return `done: ${job.processed} / ${job.total} articles`;
  if (job.status === "failed") return `failed: ${job.error || "see the server log"}`;
  if (job.status === "queued") return "queued: waiting for a worker";
  return `running: ${job.processed} / ${job.total} articles`;
}

const POLL_MS = 1000;

export function Exports({ project }: { project: ProjectDoc }) {
  const history = useLoad(() => api<{ results: ExportJobDoc[] }>("GET", `projects/${project.id}/exports/`), [project.id]);
  const [form, setForm] = useState<ExportForm>(DEFAULT_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [job, setJob] = useState<ExportJobDoc | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<ExportForm>) => setForm({ ...form, ...patch });

  // Poll the job started here until it ends; the history reloads when it does.
  useEffect(() => {
    if (!job || job.status === "done" || job.status === "failed") return;
    const timer = setTimeout(async () => {
      try {
        const next = await api<ExportJobDoc>("GET", `exports/${job.id}/`);
        setJob(next);
        if (next.status === "done" || next.status === "failed") history.reload();
      } catch (err) {
        setErrors({ "": [err instanceof Error ? err.message : String(err)] });
      }
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [job]);

  async function start(e: Event) {
    e.preventDefault();
    setErrors({});
    setBusy(true);
    try {
      const started = await api<ExportJobDoc>("POST", `projects/${project.id}/exports/`, exportBody(form));
      setJob(started);
      history.reload();
    } catch (err) {
      // No article matches: the message says which filters; details only echo them back.
      setErrors(err instanceof ApiError && err.code === "empty_selection" ? { "": [err.message] } : fieldErrors(err));
    } finally {
      setBusy(false);
    }
  }

  const origin = location.origin;
  const formatHelp = FORMATS.find(([f]) => f === form.format)?.[2] ?? "";
  const pct = job && job.total ? Math.round((100 * job.processed) / job.total) : job?.status === "done" ? 100 : 0;

  return (
    <section aria-labelledby="exports-title">
      <h2 id="exports-title">Exports</h2>
      <form class="m-form m-export-form" onSubmit={start} aria-label="New export">
        <fieldset class="m-fieldset">
          <legend>Format</legend>
          {FORMATS.map(([value, label, help]) => (
            <label class="m-check" key={value}>
              <input type="radio" name="export_format" value={value} checked={form.format === value}
                     aria-describedby={`fmt-help-${value}`} onChange={() => set({ format: value })} />
              {label} <code>{value}</code>
              <span id={`fmt-help-${value}`} class="m-sr">{help}</span>
            </label>
          ))}
          <p class="m-help">{formatHelp}</p>
          <Errors errors={errors} field="format" />
        </fieldset>

        <fieldset class="m-fieldset">
          <legend>Labels and articles</legend>
          <div class="m-field">
            <label for="ex-labels">Labels</label>
            <select id="ex-labels" value={form.labels} aria-describedby="ex-labels-help"
                    onChange={(e) => set({ labels: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="annotators">annotators</option>
              <option value="gold">gold</option>
              <option value="majority">majority</option>
            </select>
            <p id="ex-labels-help" class="m-help">annotators: every annotation; gold: only articles with a reviewer's
              gold; majority: the gold where there is one, else the majority over submitted annotations.</p>
            <Errors errors={errors} field="labels" />
          </div>
          <label class="m-check">
            <input type="checkbox" checked={form.submitted_only} aria-describedby="ex-sub-help"
                   onChange={(e) => set({ submitted_only: (e.currentTarget as HTMLInputElement).checked })} />
            Submitted work only
          </label>
          <p id="ex-sub-help" class="m-help">Untick to add drafts and articles nobody submitted.</p>
          <div class="m-grid">
            <div class="m-field">
              <label for="ex-from">Published from</label>
              <input id="ex-from" type="date" value={form.published_from} aria-describedby="ex-dates-help"
                     onInput={(e) => set({ published_from: (e.currentTarget as HTMLInputElement).value })} />
              <Errors errors={errors} field="published_from" />
            </div>
            <div class="m-field">
              <label for="ex-to">Published to</label>
              <input id="ex-to" type="date" value={form.published_to} aria-describedby="ex-dates-help"
                     onInput={(e) => set({ published_to: (e.currentTarget as HTMLInputElement).value })} />
              <Errors errors={errors} field="published_to" />
            </div>
          </div>
          <p id="ex-dates-help" class="m-help">Inclusive, UTC. With a bound, articles without a date are left out.</p>
          {project.targets.length > 0 && (
            <div class="m-field" role="group" aria-labelledby="ex-targets-label">
              <span id="ex-targets-label" class="m-label">Targets (none ticked: all)</span>
              {project.targets.map((t) => (
                <label class="m-check" key={t.key}>
                  <input type="checkbox" checked={form.targets.includes(t.key)}
                         onChange={(e) => set({ targets: (e.currentTarget as HTMLInputElement).checked
                           ? [...form.targets, t.key] : form.targets.filter((k) => k !== t.key) })} />
                  {t.name} <code>{t.key}</code>
                </label>
              ))}
              <Errors errors={errors} field="targets" />
            </div>
          )}
        </fieldset>

        <fieldset class="m-fieldset">
          <legend>Spans and people</legend>
          <div class="m-field">
            <label for="ex-layer">Span layer</label>
            <select id="ex-layer" value={form.span_layer} aria-describedby="ex-layer-help"
                    onChange={(e) => set({ span_layer: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="entities">entities</option>
              <option value="quotes">quotes</option>
            </select>
            <p id="ex-layer-help" class="m-help">The CoNLL-2003 tags and DocBin doc.ents: entities, or quotes
              (QUOTE + SPEAKER).</p>
          </div>
          <label class="m-check">
            <input type="checkbox" checked={form.include_suggestions} aria-describedby="ex-sugg-help"
                   onChange={(e) => set({ include_suggestions: (e.currentTarget as HTMLInputElement).checked })} />
            Include suggestions
          </label>
          <p id="ex-sugg-help" class="m-help">Adds the model and import suggestions as their own layer (JSONL
            suggestions, CoNLL-U MISC Suggestion=, DocBin span group), never as reference labels.</p>
          <label class="m-check">
            <input type="checkbox" checked={form.user_names} aria-describedby="ex-names-help"
                   onChange={(e) => set({ user_names: (e.currentTarget as HTMLInputElement).checked })} />
            User names
          </label>
          <p id="ex-names-help" class="m-help">User names instead of stable 8-hex pseudonyms.</p>
        </fieldset>

        <fieldset class="m-fieldset">
          <legend>Split</legend>
          <label class="m-check">
            <input type="checkbox" checked={form.split} aria-describedby="ex-split-help"
                   onChange={(e) => set({ split: (e.currentTarget as HTMLInputElement).checked })} />
            Train / dev / test split
          </label>
          <p id="ex-split-help" class="m-help">Seeded, stratified by stance; the three parts are percentages
            summing to 100; the same seed and data give the same split.</p>
          {form.split && (
            <div class="m-grid">
              {(["seed", "train", "dev", "test"] as const).map((k) => (
                <div class="m-field" key={k}>
                  <label for={`ex-${k}`}>{k === "seed" ? "Seed" : `${k} %`}</label>
                  <input id={`ex-${k}`} type="number" min={0} max={k === "seed" ? undefined : 100} value={form[k]}
                         onInput={(e) => set({ [k]: Number((e.currentTarget as HTMLInputElement).value) })} />
                  <Errors errors={errors} field={`split.${k}`} />
                </div>
              ))}
            </div>
          )}
          <Errors errors={errors} field="split" />
        </fieldset>

        <Errors errors={errors} field="options" />
        <Errors errors={errors} field="" />
        <div class="m-actions">
          <button class="m-btn m-primary" type="submit" disabled={busy}>Start export</button>
        </div>
        <div class="m-field">
          <label for="ex-curl">The same export with curl</label>
          <textarea id="ex-curl" class="m-code" readOnly rows={3} value={curlLine(origin, project.id, form)} />
          <p class="m-help">Set STANDPOINT_TOKEN to a key from <a href="/manage/account">your account page</a>.
            Then poll <code>{origin}/api/v1/exports/ID/</code> and fetch <code>…/exports/ID/download/</code> with
            the same header.</p>
        </div>
      </form>

      {job && (
        <div class="m-panel" aria-live="polite" data-testid="export-progress">
          <p><strong>Export {job.id}</strong> ({job.format}): {progressText(job)}</p>
          <progress max={100} value={pct} aria-label={`Export ${job.id} progress`}>{pct}%</progress>
          {job.download_url && <p><a class="m-btn" href={job.download_url} download>Download {job.file_name}</a></p>}
        </div>
      )}

      <h3>History</h3>
      {history.error && <p class="m-error" role="alert">{history.error}</p>}
      {history.data && history.data.results.length === 0 && <p class="m-muted">No exports yet.</p>}
      {history.data && history.data.results.length > 0 && (
        <table class="m-table m-exports">
          <thead><tr><th>#</th><th>Format</th><th>Status</th><th>By</th><th>When</th><th>Options</th><th>Size</th><th>sha256</th><th><span class="m-sr">Download</span></th></tr></thead>
          <tbody>
            {history.data.results.map((j) => (
              <tr key={j.id}>
                <td>{j.id}</td>
                <td>{j.format}</td>
                <td>{j.status}{j.status === "failed" && j.error ? `: ${j.error}` : ""}</td>
                <td>{j.requested_by ?? "–"}</td>
                <td>{new Date(j.created_at).toLocaleString()}</td>
                <td><code class="m-wrap">{JSON.stringify(j.options)}</code></td>
                <td class="m-nowrap">{fmtSize(j.size_bytes)}</td>
                <td><code class="m-wrap">{j.sha256 || "–"}</code></td>
                <td>{j.download_url && <a href={j.download_url} download aria-label={`Download export ${j.id}`}>Download</a>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
