/** The caller's account: API tokens (create, shown once; list; revoke). Every signed-in user can
 * reach it (annotators and exporters too); site admins can look up another user's tokens. */
import { useState } from "preact/hooks";
import { useLoad } from "./app";
import { api, type FieldErrors, fieldErrors } from "./http";
import { Errors } from "./setup";

export interface ApiTokenDoc {
  id: number;
  name: string;
  prefix: string;
  user: string;
  created_at: string;
  last_used_at: string | null;
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "never");

function TokenTable({ tokens, onRevoke, caption }: {
  tokens: ApiTokenDoc[]; onRevoke: (t: ApiTokenDoc) => void; caption: string;
}) {
  if (tokens.length === 0) return <p class="m-muted">No tokens.</p>;
  return (
    <table class="m-table">
      <caption class="m-sr">{caption}</caption>
      <thead><tr><th>Name</th><th>Key starts</th><th>Created</th><th>Last used</th><th><span class="m-sr">Actions</span></th></tr></thead>
      <tbody>
        {tokens.map((t) => (
          <tr key={t.id}>
            <td>{t.name}</td>
            <td><code>{t.prefix}…</code></td>
            <td>{when(t.created_at)}</td>
            <td>{when(t.last_used_at)}</td>
            <td>
              <button type="button" class="m-link m-danger" onClick={() => onRevoke(t)}
                      aria-label={`Revoke ${t.name}`}>Revoke</button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Account({ isStaff }: { isStaff: boolean }) {
  const mine = useLoad(() => api<ApiTokenDoc[]>("GET", "me/tokens/"), []);
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [rowError, setRowError] = useState<string | null>(null);
  const [otherUser, setOtherUser] = useState("");
  const [other, setOther] = useState<{ user: string; tokens: ApiTokenDoc[] } | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setErrors({});
    setCreated(null);
    try {
      const t = await api<ApiTokenDoc & { key: string }>("POST", "me/tokens/", { name });
      setCreated({ name: t.name, key: t.key });
      setName("");
      mine.reload();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  }
  async function revoke(t: ApiTokenDoc) {
    if (!confirm(`Revoke "${t.name}"? Scripts using it stop working at once.`)) return;
    setRowError(null);
    try {
      await api("DELETE", `me/tokens/${t.id}/`);
    } catch (err) {
      setRowError(`${t.name}: ${err instanceof Error ? err.message : err}`);
    }
    mine.reload();
    if (other) await lookUp();
  }
  async function lookUp(e?: Event) {
    e?.preventDefault();
    setRowError(null);
    try {
      const user = other && !e ? other.user : otherUser.trim();
      setOther({ user, tokens: await api<ApiTokenDoc[]>("GET", `me/tokens/?user=${encodeURIComponent(user)}`) });
    } catch (err) {
      setOther(null);
      setRowError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Your account</h1>
      <h2>API tokens</h2>
      <p class="m-muted">
        Scripts call the API with <code>Authorization: Token &lt;key&gt;</code>. A key is shown once, when you
        create it; only a hash of it is stored. Revoke a token you no longer use.
      </p>
      {mine.error && <p class="m-error" role="alert">{mine.error}</p>}
      {rowError && <p class="m-error" role="alert">{rowError}</p>}
      {created && (
        <div class="m-note" role="status">
          <p>New token <strong>{created.name}</strong>. Copy the key now: it will not be shown again.</p>
          <label class="m-field">
            <span>Key</span>
            <input class="m-key" readOnly value={created.key} data-testid="new-token-key"
                   onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
          </label>
          <pre class="m-code">{`export STANDPOINT_TOKEN=${created.key}\ncurl -H "Authorization: Token $STANDPOINT_TOKEN" ${location.origin}/api/v1/me/`}</pre>
        </div>
      )}
      <form class="m-inline-form" onSubmit={create} aria-label="Create a token">
        <div class="m-field">
          <label for="token-name">Token name</label>
          <input id="token-name" name="token_name" value={name} maxLength={100} placeholder="nightly export"
                 onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          <Errors errors={errors} field="name" />
        </div>
        <button class="m-btn m-primary" type="submit">Create token</button>
        <Errors errors={errors} field="" />
      </form>
      {mine.data && <TokenTable tokens={mine.data} onRevoke={revoke} caption="Your API tokens" />}
      {isStaff && (
        <>
          <h2>Another user's tokens</h2>
          <form class="m-inline-form" onSubmit={lookUp} aria-label="Look up a user's tokens">
            <div class="m-field">
              <label for="token-user">Username</label>
              <input id="token-user" name="token_user" value={otherUser}
                     onInput={(e) => setOtherUser((e.currentTarget as HTMLInputElement).value)} />
            </div>
            <button class="m-btn" type="submit">Show tokens</button>
          </form>
          {other && <TokenTable tokens={other.tokens} onRevoke={revoke} caption={`Tokens of ${other.user}`} />}
        </>
      )}
    </section>
  );
}
