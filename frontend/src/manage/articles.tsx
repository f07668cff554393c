/** Article browser (reviewers, admins): filter by annotation status, source, gold and
 * disagreement (on the server, over the whole project; 100 rows a page); open any article
 * read-only with every submitted annotation and the gold. */
import { useEffect, useRef, useState } from "preact/hooks";
import { useLoad } from "./app";
import { nextPath } from "./audit";
import { api } from "./http";
import { link } from "./router";
import type { Page, ProjectDoc, SideBySide } from "./types";

interface ArticleRow {
  id: number;
  external_id: string | null;
  title: string;
  source: string;
  published: string | null;
  assignments_submitted: number;
  /** The server's rule (the same as the status filter's): untouched, partial or complete. */
  annotation_status: "untouched" | "partial" | "complete";
  disagreement: boolean;
}

const PAGE = 100;

interface Filters { status: string; source: string; gold: string; disagreement: string; search: string }

/** The list's query: every filter runs on the server, over the whole project. */
export function articleQuery(f: Filters): string {
  const q = new URLSearchParams({ page_size: String(PAGE) });
  if (f.status) q.set("status", f.status);
  if (f.source) q.set("source", f.source);
  if (f.gold) q.set("has_gold", f.gold);
  if (f.disagreement) q.set("disagreement", f.disagreement);
  if (f.search) q.set("search", f.search);
  return q.toString();
}

export function Articles({ project }: { project: ProjectDoc }) {
  const [f, setF] = useState<Filters>({ status: "", source: "", gold: "", disagreement: "", search: "" });
  const [rows, setRows] = useState<ArticleRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const query = articleQuery(f);

  const latest = useRef(0); // a slow answer to an older filter must not replace a newer one's
  async function load(path: string, append: boolean) {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const page = await api<Page<ArticleRow>>("GET", path);
      if (mine !== latest.current) return;
      setRows((old) => (append ? [...old, ...page.results] : page.results));
      setNext(page.next);
      setError(null);
    } catch (err) {
      if (mine === latest.current) setError(err instanceof Error ? err.message : String(err));
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }
  useEffect(() => {
    void load(`projects/${project.id}/articles/?${query}`, false);
  }, [project.id, query]);
  const set = (k: keyof Filters) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const n = rows.length;

  return (
    <section aria-labelledby="articles-title">
      <h2 id="articles-title">Articles</h2>
      <form class="m-inline-form" aria-label="Filter articles" onSubmit={(e) => e.preventDefault()}>
        <div class="m-field">
          <label for="ar-status">Status</label>
          <select id="ar-status" value={f.status} onChange={set("status")}>
            <option value="">any</option><option value="untouched">untouched</option>
            <option value="partial">partial</option><option value="complete">complete</option>
          </select>
        </div>
        <div class="m-field">
          <label for="ar-source">Source</label>
          <input id="ar-source" value={f.source} onChange={set("source")} placeholder="Reuters" />
        </div>
        <div class="m-field">
          <label for="ar-gold">Gold</label>
          <select id="ar-gold" value={f.gold} onChange={set("gold")}>
            <option value="">any</option><option value="true">has gold</option><option value="false">no gold</option>
          </select>
        </div>
        <div class="m-field">
          <label for="ar-dis">Annotators</label>
          <select id="ar-dis" value={f.disagreement} onChange={set("disagreement")}>
            <option value="">any</option><option value="true">disagree</option><option value="false">do not disagree</option>
          </select>
        </div>
        <div class="m-field m-grow">
          <label for="ar-search">Search title, id, text</label>
          <input id="ar-search" type="search" value={f.search} onChange={set("search")} />
        </div>
      </form>
      {error && <p class="m-error" role="alert">{error}</p>}
      {!loading && !error && <p class="m-muted" role="status">
        {next ? `The first ${n} articles (more below)` : `${n} article${n === 1 ? "" : "s"}`}</p>}
      {n > 0 && (
        <table class="m-table">
          <thead><tr><th>Article</th><th>Source</th><th>Status</th><th>Annotators</th></tr></thead>
          <tbody>
            {rows.map((a) => {
              const href = `/manage/projects/${project.id}/articles/${a.id}`;
              return (
                <tr key={a.id}>
                  <td><a href={href} onClick={link(href)}>{a.title || a.external_id || `#${a.id}`}</a>
                    {a.title && a.external_id && <span class="m-muted"> {a.external_id}</span>}</td>
                  <td>{a.source || "–"}</td>
                  <td>{a.annotation_status} ({a.assignments_submitted}/{project.overlap})</td>
                  <td>{a.disagreement ? "disagree" : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {next && <button class="m-btn" type="button" disabled={loading} onClick={() => load(nextPath(next), true)}>
        Show {PAGE} more</button>}
    </section>
  );
}

export function ArticleReadOnly({ project, articleId }: { project: ProjectDoc; articleId: number }) {
  const { data: view, error } = useLoad(
    () => api<SideBySide>("GET", `projects/${project.id}/adjudication/articles/${articleId}/`), [project.id, articleId]);
  if (!view) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;
  const back = `/manage/projects/${project.id}/articles`;
  const people = [...view.annotations.map((a) => ({ who: a.annotator.username, doc: a })),
    ...(view.gold ? [{ who: `gold (${view.gold.method}, ${view.gold.decided_by ?? "–"})`, doc: view.gold }] : [])];
  return (
    <section aria-labelledby="article-title">
      <p><a href={back} onClick={link(back)}>← Articles</a></p>
      <h2 id="article-title">{view.article.title || view.article.external_id}
        {view.article.external_id && <span class="m-muted"> {view.article.external_id}</span>}</h2>
      <p class="m-muted">{view.article.source}{view.disagreements.length ? ` · annotators disagree on ${view.disagreements.join(", ")}` : ""}</p>
      <div class="m-panel m-readonly-text">{view.article.text}</div>
      <h3>Annotations ({view.annotations.length} submitted)</h3>
      {people.length === 0 && <p class="m-muted">Nobody has submitted this article yet.</p>}
      {people.length > 0 && (
        <table class="m-table">
          <thead><tr><th>By</th>{view.targets.map((t) => <th key={t.key}>{t.name}</th>)}<th>Frames</th><th>Spans</th><th>Notes</th></tr></thead>
          <tbody>
            {people.map(({ who, doc }) => (
              <tr key={who}>
                <td>{who}</td>
                {view.targets.map((t) => <td key={t.key}>{doc.stance[t.key] ?? "–"}</td>)}
                <td>{doc.frames.join(", ") || "–"}{doc.primary_frame ? ` (primary: ${doc.primary_frame})` : ""}</td>
                <td>{doc.spans.length
                  ? <ul class="m-spanlist">{doc.spans.map((s) => <li key={`${s.start}-${s.end}-${s.label}`}>
                      <code>{s.label}</code> {s.text ?? view.article.text.slice(s.start, s.end)}</li>)}</ul>
                  : "–"}</td>
                <td>{doc.notes || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
