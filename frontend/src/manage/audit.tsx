/** The audit trail of a project: who changed gold, the codebook, memberships and assignments,
 * when, with before/after (admins and reviewers; GET /projects/{id}/audit/). */
import { useEffect, useState } from "preact/hooks";
import { api } from "./http";
import type { ProjectDoc } from "./types";

export interface AuditEvent {
  id: number;
  created_at: string;
  actor: { id: number | null; username: string };
  action: string;
  object_type: string;
  object_id: string;
  object_repr: string;
  before: unknown;
  after: unknown;
}

interface Page { next: string | null; results: AuditEvent[] }

const FILTERS: Array<[string, string]> = [
  ["", "everything"], ["codebook.", "codebook"], ["gold.", "gold"], ["membership.", "memberships"],
  ["assignment.", "assignments"], ["project.", "project settings"],
];

/** The API's `next` URL as a path for `api` (which prefixes /api/v1/). */
export const nextPath = (url: string) => url.replace(/^.*?\/api\/v1\//, "");

/** A one-line summary of what an event changed, from its before/after. */
export function summary(e: AuditEvent): string {
  const after = (e.after ?? {}) as Record<string, any>;
  const before = (e.before ?? {}) as Record<string, any>;
  if (e.action === "codebook.change") {
    const parts: string[] = [];
    const v = [before.label_schema?.version, after.label_schema?.version];
    if (v[0] !== undefined) parts.push(`version ${v[0]} → ${v[1]}`);
    for (const [kind, pairs] of Object.entries((after.mappings ?? {}) as Record<string, Record<string, string | null>>)) {
      for (const [from, to] of Object.entries(pairs)) parts.push(`${kind}: ${from} → ${to ?? "(dropped)"}`);
    }
    const targets = new Set(Object.values((after.mappings ?? {}) as Record<string, Record<string, string | null>>)
      .flatMap((pairs) => Object.values(pairs)));
    for (const [kind, labels] of Object.entries((after.added ?? {}) as Record<string, string[]>)) {
      const fresh = labels.filter((l) => !targets.has(l)); // a rename's new name is said above
      if (fresh.length) parts.push(`${kind} + ${fresh.join(", ")}`);
    }
    const was = (before.label_schema ?? {}) as Record<string, unknown>;
    const now = (after.label_schema ?? {}) as Record<string, unknown>;
    for (const key of ["stance_ordered", "frames_required", "primary_frame_required"]) {
      if (key in was && was[key] !== now[key]) parts.push(`${key}: ${was[key]} → ${now[key]}`);
    }
    for (const m of (after.migrated ?? []) as Array<{ label: string; total: number }>) {
      parts.push(`${m.total} uses of ${m.label} migrated`);
    }
    return parts.join("; ");
  }
  if (e.action.startsWith("membership.")) {
    const who = after.user ?? before.user ?? "";
    return before.role && after.role ? `${who}: ${before.role} → ${after.role}`
      : after.role ? `${who} added as ${after.role}` : `${who} (${before.role}) removed`;
  }
  return "";
}

export function Audit({ project }: { project: ProjectDoc }) {
  const [filter, setFilter] = useState("");
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  async function load(path: string, append: boolean) {
    setLoading(true);
    try {
      const page = await api<Page>("GET", path);
      setEvents((old) => (append ? [...old, ...page.results] : page.results));
      setNext(page.next);
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    load(`projects/${project.id}/audit/${filter ? `?action=${encodeURIComponent(filter)}` : ""}`, false);
  }, [project.id, filter]);

  return (
    <section>
      <div class="m-head">
        <h2>Audit trail</h2>
        <label>Show{" "}
          <select aria-label="Filter by action" value={filter}
                  onChange={(e) => setFilter((e.currentTarget as HTMLSelectElement).value)}>
            {FILTERS.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
          </select>
        </label>
      </div>
      {error && <p class="m-error" role="alert">{error}</p>}
      {!loading && !events.length && !error && <p class="m-muted">Nothing recorded yet.</p>}
      {events.length > 0 && (
        <table class="m-table m-audit">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Object</th><th>Change</th></tr></thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td><time dateTime={e.created_at}>{new Date(e.created_at).toLocaleString()}</time></td>
                <td>{e.actor.username || "—"}</td>
                <td><code>{e.action}</code></td>
                <td>{e.object_repr || `${e.object_type} ${e.object_id}`}</td>
                <td>
                  <span>{summary(e)}</span>
                  <details>
                    <summary>before / after</summary>
                    <div class="m-grid">
                      <pre aria-label="before">{JSON.stringify(e.before, null, 1)}</pre>
                      <pre aria-label="after">{JSON.stringify(e.after, null, 1)}</pre>
                    </div>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && <button class="m-btn" type="button" disabled={loading} onClick={() => load(nextPath(next), true)}>
        Older events</button>}
    </section>
  );
}
