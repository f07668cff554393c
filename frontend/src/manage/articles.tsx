/** Article browser (reviewers, admins): filter by annotation status, source, gold and
 * disagreement; open any article read-only with every submitted annotation and the gold. */
import { useState } from "preact/hooks";
import { useLoad } from "./app";
import { api } from "./http";
import { link } from "./router";
import type { Page, ProjectDoc, QueueItem, SideBySide } from "./types";

interface ArticleRow {
  id: number;
  external_id: string | null;
  title: string;
  source: string;
  published: string | null;
  assignments_submitted: number;
}

export type ArticleStatus = "untouched" | "partial" | "complete";

/** Untouched: nobody submitted; complete: as many submissions as the project's overlap. */
export const articleStatus = (submitted: number, overlap: number): ArticleStatus =>
  submitted === 0 ? "untouched" : submitted >= overlap ? "complete" : "partial";

// The list reads this many articles per filter; status and disagreement are filtered among them.
const LIMIT = 500;

export function Articles({ project }: { project: ProjectDoc }) {
  const [f, setF] = useState({ status: "", source: "", gold: "", disagreement: "", search: "" });
  const query = new URLSearchParams({ page_size: String(LIMIT) });
  if (f.source) query.set("source", f.source);
  if (f.gold) query.set("has_gold", f.gold);
  if (f.search) query.set("search", f.search);
  const list = useLoad(() => api<Page<ArticleRow>>("GET", `projects/${project.id}/articles/?${query}`),
    [project.id, query.toString()]);
  const queue = useLoad(() => api<Page<QueueItem>>("GET", `projects/${project.id}/adjudication/?state=all&limit=${LIMIT}`),
    [project.id]);
  const disagreeing = new Set((queue.data?.results ?? []).filter((q) => q.disagreements.length).map((q) => q.article_id));
  const rows = (list.data?.results ?? []).filter((a) =>
    (!f.status || articleStatus(a.assignments_submitted, project.overlap) === f.status)
    && (!f.disagreement || (f.disagreement === "true") === disagreeing.has(a.id)));
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

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
      {list.error && <p class="m-error" role="alert">{list.error}</p>}
      {list.data && <p class="m-muted" role="status">{rows.length} article{rows.length === 1 ? "" : "s"}
        {list.data.next ? ` among the first ${LIMIT}` : ""}</p>}
      {rows.length > 0 && (
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
                  <td>{articleStatus(a.assignments_submitted, project.overlap)} ({a.assignments_submitted}/{project.overlap})</td>
                  <td>{disagreeing.has(a.id) ? "disagree" : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
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
