/** Import articles by upload; shows the per-line report (nothing is written when a line is bad,
 * unless "skip invalid lines" is ticked). */
import { useState } from "preact/hooks";
import { ApiError, upload } from "./http";
import type { ImportReport, ProjectDoc } from "./types";

interface LineProblem {
  line: number;
  field?: string;
  text: string;
}

export function Importer({ project }: { project: ProjectDoc }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState("auto");
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [rejected, setRejected] = useState<{ message: string; errors: LineProblem[]; count: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function send(e: Event) {
    e.preventDefault();
    if (!file) {
      setError("Choose a file first.");
      return;
    }
    setBusy(true);
    setError(null);
    setReport(null);
    setRejected(null);
    const form = new FormData();
    form.append("file", file);
    form.append("format", format);
    form.append("skip_invalid", skipInvalid ? "true" : "false");
    try {
      setReport(await upload<ImportReport>(`projects/${project.id}/articles/import/`, form));
    } catch (err) {
      if (err instanceof ApiError && err.code === "import_rejected") {
        const d = (err.details ?? {}) as { errors?: LineProblem[]; invalid_count?: number };
        setRejected({ message: err.message, errors: d.errors ?? [], count: d.invalid_count ?? 0 });
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h2>Import articles</h2>
      <p class="m-muted">
        JSONL (one article per line: <code>text</code> required; <code>id</code>, <code>title</code>, <code>source</code>,
        <code>url</code>, <code>published</code>, <code>meta</code>, <code>spans</code> optional), CSV with a <code>text</code> column,
        a zip of <code>.txt</code> files, doccano JSONL or Label Studio JSON. The whole file is checked first.
      </p>
      <form class="m-form" onSubmit={send}>
        <div class="m-grid">
          <div class="m-field">
            <label for="i-file">File</label>
            <input id="i-file" name="file" type="file"
                   onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
          </div>
          <div class="m-field">
            <label for="i-format">Format</label>
            <select id="i-format" value={format} onChange={(e) => setFormat((e.currentTarget as HTMLSelectElement).value)}>
              {["auto", "jsonl", "csv", "txt", "labelstudio"].map((f) => <option key={f} value={f}>{f}</option>)}
            </select>
          </div>
        </div>
        <label class="m-check">
          <input type="checkbox" checked={skipInvalid} onChange={(e) => setSkipInvalid((e.currentTarget as HTMLInputElement).checked)} />
          Skip invalid lines (import the good ones)
        </label>
        <div class="m-actions">
          <button class="m-btn m-primary" type="submit" disabled={busy}>{busy ? "Importing…" : "Upload"}</button>
        </div>
      </form>
      {error && <p class="m-error" role="alert">{error}</p>}
      {rejected && (
        <div class="m-report m-report-bad" role="alert" data-testid="import-rejected">
          <p><strong>Nothing was imported.</strong> {rejected.count} invalid record{rejected.count === 1 ? "" : "s"}:</p>
          <ul>{rejected.errors.map((p, i) => <li key={i}><code>{p.text}</code></li>)}</ul>
          <p class="m-muted">Fix the file, or tick “Skip invalid lines” to import only the good records.</p>
        </div>
      )}
      {report && (
        <div class="m-report" role="status" data-testid="import-report">
          <p>
            <strong>{report.records}</strong> records: <strong>{report.created}</strong> created,
            {" "}{report.updated} updated, {report.unchanged} unchanged
            {report.skipped.length > 0 && <>, {report.skipped.length} skipped</>}
            {report.invalid_count > 0 && <>, {report.invalid_count} invalid lines skipped</>}.
          </p>
          {report.invalid.length > 0 && <ul>{report.invalid.map((p, i) => <li key={i}><code>{p.text}</code></li>)}</ul>}
          {report.skipped.length > 0 && (
            <ul>{(report.skipped as Array<{ line: number; reason: string }>).map((s, i) =>
              <li key={i}>line {s.line}: {s.reason}</li>)}</ul>
          )}
        </div>
      )}
    </section>
  );
}
