/**
 * "My work": the articles I submitted or skipped, newest first, searchable by title or external
 * id. One I submitted recently can be reopened here (the project sets for how long) and opens
 * straight in the annotation screen to be fixed and submitted again.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Me, type MyWorkItem, type Page } from "./api";
import { Header, useLoad } from "./app";
import { navigate } from "./router";

function when(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function MyWork() {
  const params = new URLSearchParams(location.search);
  const [q, setQ] = useState(params.get("q") ?? "");
  const [project, setProject] = useState(params.get("project") ?? "");
  const [query, setQuery] = useState({ q, project });
  const [reload, setReload] = useState(0);
  const [message, setMessage] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  // Typing searches after a pause; the URL keeps the search, so a reload or a link shows the same list.
  useEffect(() => {
    const t = window.setTimeout(() => setQuery({ q, project }), 200);
    return () => window.clearTimeout(t);
  }, [q, project]);
  useEffect(() => {
    const p = new URLSearchParams();
    if (query.q) p.set("q", query.q);
    if (query.project) p.set("project", query.project);
    const search = p.toString();
    history.replaceState(null, "", `/work/${search ? `?${search}` : ""}`);
  }, [query]);
  useEffect(() => {
    document.title = "My work · Standpoint";
    searchRef.current?.focus();
  }, []);

  const me = useLoad(() => api<Me>("GET", "me/"), []);
  const { data, error } = useLoad(() => {
    const p = new URLSearchParams({ page_size: "200" });
    if (query.q.trim()) p.set("q", query.q.trim());
    if (query.project) p.set("project", query.project);
    return api<Page<MyWorkItem>>("GET", `me/work/?${p}`);
  }, [query, reload]);

  const reopen = async (item: MyWorkItem) => {
    setBusy(item.id);
    setMessage(null);
    try {
      await api("POST", `assignments/${item.id}/reopen/`);
      navigate(`/assignments/${item.id}/`);
    } catch (e) {
      setMessage({ kind: "error", text: e instanceof Error ? e.message : String(e) });
      setReload((n) => n + 1);
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <Header><span>My work</span></Header>
      <main class="page">
        <h1 class="page-title">My work</h1>
        <p class="muted">What you submitted or skipped, newest first.</p>
        <form class="work-filters" role="search" onSubmit={(e) => { e.preventDefault(); setQuery({ q, project }); }}>
          <label>
            Search <span class="muted small">title or external id</span>
            <input ref={searchRef} type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Project
            <select value={project} onChange={(e) => setProject((e.target as HTMLSelectElement).value)}>
              <option value="">all projects</option>
              {me.data?.projects.map((p) => <option key={p.id} value={String(p.id)}>{p.name}</option>)}
            </select>
          </label>
        </form>
        {message && <p class={`banner banner-${message.kind}`} role="alert">{message.text}</p>}
        {error && <p class="banner banner-error" role="alert">{error}</p>}
        {!data && !error && <p class="muted">Loading…</p>}
        {data && data.results.length === 0 && (
          <p class="empty">{query.q || query.project ? "Nothing matches." : "Nothing submitted or skipped yet."}</p>
        )}
        {data && data.results.length > 0 && (
          <ul class="work-list" aria-label="Submitted and skipped articles">
            {data.results.map((it) => (
              <li key={it.id} class="work-item" data-assignment={it.id}>
                <div class="work-main">
                  <a class="work-title" href={`/assignments/${it.id}/`}
                    onClick={(e) => { e.preventDefault(); navigate(`/assignments/${it.id}/`); }}>
                    {it.article.title || "Untitled article"}
                  </a>
                  {it.article.external_id && <span class="ext-id">{it.article.external_id}</span>}
                  <p class="work-meta">
                    <span class={`badge badge-${it.status}`}>{it.status}</span>{" "}
                    <span>{it.project.name}</span> · <time dateTime={it.closed_at}>{when(it.closed_at)}</time>
                    {it.status === "skipped" && it.skip_reason && <> · <span>{it.skip_reason}</span></>}
                  </p>
                </div>
                <div class="work-actions">
                  {it.can_reopen ? (
                    <>
                      <button class="btn btn-small" disabled={busy !== null} onClick={() => reopen(it)}>
                        Reopen to correct
                      </button>
                      {it.reopen_until && <span class="muted small">until {when(it.reopen_until)}</span>}
                    </>
                  ) : (
                    <span class="muted small">{it.reopen_refusal}</span>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </main>
    </>
  );
}
