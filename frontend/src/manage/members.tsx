/** Members and roles of a project (admins change them; reviewers may look). */
import { useState } from "preact/hooks";
import { useLoad } from "./app";
import { api, type FieldErrors, fieldErrors } from "./http";
import { Errors } from "./setup";
import type { ProjectDoc } from "./types";

interface Member {
  id: number;
  user: { id: number; username: string };
  role: string;
  created_at: string;
}

const ROLES = ["admin", "reviewer", "annotator", "exporter"];

export function Members({ project }: { project: ProjectDoc }) {
  const { data, error, reload } = useLoad(() => api<Member[]>("GET", `projects/${project.id}/members/`), [project.id]);
  const [draft, setDraft] = useState({ user: "", role: "annotator" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [rowError, setRowError] = useState<string | null>(null);
  const isAdmin = project.role === "admin";

  async function add(e: Event) {
    e.preventDefault();
    setErrors({});
    try {
      await api("POST", `projects/${project.id}/members/`, draft);
      setDraft({ user: "", role: draft.role });
      reload();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  }
  async function change(m: Member, role: string) {
    setRowError(null);
    try {
      await api("PATCH", `projects/${project.id}/members/${m.id}/`, { role });
    } catch (err) {
      setRowError(`${m.user.username}: ${err instanceof Error ? err.message : err}`);
    }
    reload();
  }
  async function remove(m: Member) {
    if (!confirm(`Remove ${m.user.username} from the project?`)) return;
    setRowError(null);
    try {
      await api("DELETE", `projects/${project.id}/members/${m.id}/`);
    } catch (err) {
      setRowError(`${m.user.username}: ${err instanceof Error ? err.message : err}`);
    }
    reload();
  }

  return (
    <section>
      <h2>Members</h2>
      {error && <p class="m-error" role="alert">{error}</p>}
      {rowError && <p class="m-error" role="alert">{rowError}</p>}
      <table class="m-table">
        <thead><tr><th>User</th><th>Role</th><th>Since</th><th /></tr></thead>
        <tbody>
          {(data ?? []).map((m) => (
            <tr key={m.id}>
              <td>{m.user.username}</td>
              <td>
                {isAdmin ? (
                  <select aria-label={`Role of ${m.user.username}`} value={m.role}
                          onChange={(e) => change(m, (e.currentTarget as HTMLSelectElement).value)}>
                    {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                ) : m.role}
              </td>
              <td class="m-muted">{new Date(m.created_at).toLocaleDateString()}</td>
              <td>{isAdmin && <button class="m-link m-danger" type="button" onClick={() => remove(m)}>Remove</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {isAdmin && (
        <form class="m-inline-form" onSubmit={add} aria-label="Add a member">
          <div class="m-field">
            <label for="m-user">Username</label>
            <input id="m-user" name="member_user" value={draft.user}
                   onInput={(e) => setDraft({ ...draft, user: (e.currentTarget as HTMLInputElement).value })} />
            <Errors errors={errors} field="user" />
          </div>
          <div class="m-field">
            <label for="m-role">Role</label>
            <select id="m-role" name="member_role" value={draft.role}
                    onChange={(e) => setDraft({ ...draft, role: (e.currentTarget as HTMLSelectElement).value })}>
              {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
            <Errors errors={errors} field="role" />
          </div>
          <button class="m-btn" type="submit">Add member</button>
          <Errors errors={errors} field="" />
        </form>
      )}
      {(isAdmin || project.role === "reviewer") && <Invite project={project} onInvited={reload} />}
    </section>
  );
}

/** Create a new user in this project and hand them a one-time link to set their password. */
function Invite({ project, onInvited }: { project: ProjectDoc; onInvited: () => void }) {
  const roles = project.role === "admin" ? ROLES : ["annotator", "exporter"];
  const [draft, setDraft] = useState({ username: "", email: "", role: "annotator" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [invited, setInvited] = useState<{ username: string; url: string; expires: string } | null>(null);

  async function invite(e: Event) {
    e.preventDefault();
    setErrors({});
    setInvited(null);
    try {
      const r = await api<{ user: { username: string }; invite_url: string; expires_at: string }>(
        "POST", `projects/${project.id}/invitations/`, draft);
      setInvited({ username: r.user.username, url: r.invite_url, expires: new Date(r.expires_at).toLocaleString() });
      setDraft({ username: "", email: "", role: draft.role });
      onInvited();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  }

  return (
    <>
      <h3>Invite a new user</h3>
      <form class="m-inline-form" onSubmit={invite} aria-label="Invite a new user">
        <div class="m-field">
          <label for="inv-username">New username</label>
          <input id="inv-username" name="invite_username" value={draft.username} autocomplete="off"
                 onInput={(e) => setDraft({ ...draft, username: (e.currentTarget as HTMLInputElement).value })} />
          <Errors errors={errors} field="username" />
        </div>
        <div class="m-field">
          <label for="inv-email">Email (optional)</label>
          <input id="inv-email" name="invite_email" type="email" value={draft.email}
                 onInput={(e) => setDraft({ ...draft, email: (e.currentTarget as HTMLInputElement).value })} />
          <Errors errors={errors} field="email" />
        </div>
        <div class="m-field">
          <label for="inv-role">Role</label>
          <select id="inv-role" name="invite_role" value={draft.role}
                  onChange={(e) => setDraft({ ...draft, role: (e.currentTarget as HTMLSelectElement).value })}>
            {roles.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <Errors errors={errors} field="role" />
        </div>
        <button class="m-btn" type="submit">Create and invite</button>
        <Errors errors={errors} field="" />
      </form>
      {invited && (
        <div class="m-note" role="status">
          <p><strong>{invited.username}</strong> is in the project. Send them this link to set a password
            (it works once, until {invited.expires}):</p>
          <label class="m-field"><span>Invite link</span>
            <input class="m-key" readOnly value={invited.url} data-testid="invite-url"
                   onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} /></label>
        </div>
      )}
    </>
  );
}
