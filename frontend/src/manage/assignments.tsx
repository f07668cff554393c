/** Assignments of a project (reviewers, admins): filter by status; reopen a submitted or skipped
 * one, release (skip, with a reason) a stuck open one. Both go through the audited services
 * behind POST /assignments/{id}/reopen/ and /skip/. */
import { useState } from "preact/hooks";
import { useLoad } from "./app";
import { api } from "./http";
import type { ProjectDoc } from "./types";

interface AssignmentRow {
  id: number;
  article: { id: number; external_id: string | null; title: string; source: string };
  annotator: { id: number; username: string };
  status: "assigned" | "in_progress" | "submitted" | "skipped";
  skip_reason: string;
  assigned_at: string;
  last_activity_at: string;
  lease_expires_at: string | null;
  submitted_at: string | null;
}

const STATUSES = ["", "assigned", "in_progress", "submitted", "skipped"];
const OPEN = ["assigned", "in_progress"];
const PAGE = 50;

export function Assignments({ project }: { project: ProjectDoc }) {
  const [status, setStatus] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const [reason, setReason] = useState("stuck: released by a reviewer");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const { data, error, reload } = useLoad(
    () => api<{ results: AssignmentRow[]; next: string | null }>(
      "GET", `projects/${project.id}/assignments/?page_size=${limit}${status ? `&status=${status}` : ""}`),
    [project.id, status, limit]);

  async function act(a: AssignmentRow, what: "reopen" | "release") {
    setMessage(null);
    try {
      if (what === "reopen") await api("POST", `assignments/${a.id}/reopen/`);
      else await api("POST", `assignments/${a.id}/skip/`, { reason });
      setMessage({ ok: true, text: `Assignment ${a.id} (${a.annotator.username}, ${a.article.title || a.article.external_id}) `
        + (what === "reopen" ? "reopened: back with its annotator." : "released: the article goes to someone else.") });
    } catch (err) {
      setMessage({ ok: false, text: `Assignment ${a.id}: ${err instanceof Error ? err.message : err}` });
    }
    reload();
  }

  return (
    <section aria-labelledby="assignments-title">
      <h2 id="assignments-title">Assignments</h2>
      <div class="m-inline-form">
        <div class="m-field">
          <label for="as-status">Status</label>
          <select id="as-status" value={status} onChange={(e) => { setStatus((e.currentTarget as HTMLSelectElement).value); setLimit(PAGE); }}>
            {STATUSES.map((s) => <option key={s} value={s}>{s ? s.replace("_", " ") : "any"}</option>)}
          </select>
        </div>
        <div class="m-field m-grow">
          <label for="as-reason">Reason recorded when releasing</label>
          <input id="as-reason" value={reason} maxLength={2000}
                 onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
        </div>
      </div>
      {message && <p class={message.ok ? "m-ok" : "m-error"} role={message.ok ? "status" : "alert"}>{message.text}</p>}
      {error && <p class="m-error" role="alert">{error}</p>}
      {data && data.results.length === 0 && <p class="m-muted">No assignments.</p>}
      {data && data.results.length > 0 && (
        <table class="m-table">
          <thead><tr><th>#</th><th>Article</th><th>Annotator</th><th>Status</th><th>Last activity</th><th><span class="m-sr">Actions</span></th></tr></thead>
          <tbody>
            {data.results.map((a) => (
              <tr key={a.id}>
                <td>{a.id}</td>
                <td>{a.article.title || a.article.external_id} {a.article.title && <span class="m-muted">{a.article.external_id ?? ""}</span>}</td>
                <td>{a.annotator.username}</td>
                <td>{a.status.replace("_", " ")}{a.skip_reason ? <span class="m-muted"> ({a.skip_reason})</span> : null}</td>
                <td>{new Date(a.last_activity_at).toLocaleString()}</td>
                <td class="m-nowrap">
                  {OPEN.includes(a.status)
                    ? <button type="button" class="m-btn" onClick={() => act(a, "release")}
                              aria-label={`Release assignment ${a.id} of ${a.annotator.username}`}>Release</button>
                    : <button type="button" class="m-btn" onClick={() => act(a, "reopen")}
                              aria-label={`Reopen assignment ${a.id} of ${a.annotator.username}`}>Reopen</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data?.next && <button class="m-btn" type="button" onClick={() => setLimit(limit + PAGE)}>Show more</button>}
    </section>
  );
}
