/** Stories: the same event across outlets. The list (merge, recompute, settings), one story's
 * outlets side by side (stance, frames, speakers, shared quotes; rename and split), and the
 * dashboard's stance-by-outlet panel. API: /projects/{id}/stories/… (api/stories). */
import type { ChartConfiguration } from "chart.js";
import { useMemo, useState } from "preact/hooks";
import { useLoad } from "./app";
import { ChartBox, PALETTE } from "./chart";
import { api } from "./http";
import { go, link } from "./router";
import type { ProjectDoc } from "./types";

export interface StoryItem {
  id: number; name: string; manual: boolean; key: string | null; articles: number; outlets: number;
  undated: number; first_published: string | null;
}
interface Quote { start: number; end: number; text: string; speaker: string | null; speaker_canonical?: string; kind: string | null }
export interface CompareArticle {
  article_id: number; id: string; title: string; outlet: string; published: string | null; undated: boolean;
  text: string; truncated: boolean; stance: Record<string, string>; frames: string[]; primary_frame: string | null;
  labels_from: string | null; quotes: Quote[]; quotes_from: string;
}
export interface Compare {
  id: number; name: string; manual: boolean; targets: Array<{ key: string; name: string }>;
  articles: CompareArticle[];
  outlets: Array<{ outlet: string; articles: number[]; stance: Record<string, Record<string, number>>;
    frames: Record<string, number>; speakers: Record<string, number> }>;
  speakers: Array<{ speaker: string; outlets: Record<string, number>; aliases: string[]; outlet_count: number }>;
  shared_quotes: Array<{ text: string; speaker: string | null; outlets: string[] }>;
}
interface Settings { duplicate_threshold: number; duplicate_policy: string; story_window_days: number; story_similarity: number }

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : "no date");

/** Stacked bars: for each outlet, how many of its articles take each stance label on `target`. */
const OPENING_MARKS = "“\"'‘«»„‚‹›";

/** A quotation as it reads: a quote span already holds its own marks (“…”), other text gets them. */
export const quoted = (text: string): string =>
  text && OPENING_MARKS.includes(text[0]) ? text : `“${text}”`;

export function stanceChart(outlets: Compare["outlets"], target: string, labels: string[]): ChartConfiguration {
  const seen = labels.length ? labels
    : [...new Set(outlets.flatMap((o) => Object.keys(o.stance[target] ?? {})))];
  return {
    type: "bar",
    data: {
      labels: outlets.map((o) => o.outlet),
      datasets: seen.map((label, i) => ({
        label, backgroundColor: PALETTE[i % PALETTE.length],
        data: outlets.map((o) => o.stance[target]?.[label] ?? 0),
      })),
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, ticks: { precision: 0 } }, y: { stacked: true } } },
  };
}

export function Stories({ project, storyId }: { project: ProjectDoc; storyId?: number }) {
  return storyId === undefined ? <StoryList project={project} /> : <StoryScreen project={project} storyId={storyId} />;
}

function StoryList({ project }: { project: ProjectDoc }) {
  const [multiOnly, setMultiOnly] = useState(true);
  const { data, error, reload } = useLoad(
    () => api<{ count: number; results: StoryItem[] }>("GET", `projects/${project.id}/stories/?min_articles=${multiOnly ? 2 : 1}`),
    [project.id, multiOnly]);
  const [picked, setPicked] = useState<number[]>([]);
  const [note, setNote] = useState<string | null>(null);
  const [fail, setFail] = useState<string | null>(null);
  const admin = project.role === "admin";
  const act = async (fn: () => Promise<unknown>, ok: string) => {
    setFail(null);
    try {
      await fn();
      setNote(ok);
      setPicked([]);
      reload();
    } catch (e) {
      setFail(errText(e));
    }
  };
  return (
    <section data-testid="stories">
      <div class="m-head">
        <h2>Stories</h2>
        {admin && (
          <div>
            <button type="button" class="m-btn" onClick={() => act(
              () => api("POST", `projects/${project.id}/stories/recompute/`),
              "Regrouping started; reload in a moment.")}>Recompute stories</button>{" "}
            <button type="button" class="m-btn m-primary" disabled={picked.length < 2} onClick={() => act(
              () => api("POST", `projects/${project.id}/stories/merge/`, { stories: picked }),
              `Merged ${picked.length} stories.`)}>Merge selected</button>
          </div>
        )}
      </div>
      <label class="m-check"><input type="checkbox" checked={multiOnly}
        onChange={(e) => setMultiOnly((e.currentTarget as HTMLInputElement).checked)} /> Only stories with several articles</label>
      {note && <p class="m-muted" role="status">{note}</p>}
      {(fail || error) && <p class="m-error" role="alert">{fail || error}</p>}
      {!data && !error && <p class="m-muted">Loading…</p>}
      {data && data.results.length === 0 && <p class="m-muted">No stories yet. They are computed after each import.</p>}
      {data && data.results.length > 0 && (
        <table class="m-table" data-testid="story-list">
          <thead><tr>{admin && <th><span class="m-sr">Select</span></th>}<th>Story</th><th>Articles</th><th>Outlets</th><th>First date</th><th>Undated</th></tr></thead>
          <tbody>
            {data.results.map((s) => (
              <tr key={s.id}>
                {admin && <td><input type="checkbox" aria-label={`Select story ${s.name || s.id}`} checked={picked.includes(s.id)}
                  onChange={(e) => setPicked((p) => (e.currentTarget as HTMLInputElement).checked ? [...p, s.id] : p.filter((x) => x !== s.id))} /></td>}
                <td><a href={`/manage/projects/${project.id}/stories/${s.id}`} onClick={link(`/manage/projects/${project.id}/stories/${s.id}`)}>
                  {s.name || `Story ${s.id}`}</a>{s.manual && <span class="m-badge">manual</span>}</td>
                <td>{s.articles}</td><td>{s.outlets}</td><td>{day(s.first_published)}</td><td>{s.undated || ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && <StorySettingsForm project={project} />}
    </section>
  );
}

function StorySettingsForm({ project }: { project: ProjectDoc }) {
  const { data, error } = useLoad(() => api<Settings>("GET", `projects/${project.id}/stories/settings/`), [project.id]);
  const [draft, setDraft] = useState<Partial<Settings>>({});
  const [msg, setMsg] = useState<string | null>(null);
  if (!data) return error ? <p class="m-error" role="alert">{error}</p> : null;
  const value = { ...data, ...draft };
  const num = (k: keyof Settings) => (e: Event) => setDraft({ ...draft, [k]: Number((e.currentTarget as HTMLInputElement).value) });
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await api("PATCH", `projects/${project.id}/stories/settings/`, draft);
      setMsg("Saved.");
    } catch (err) {
      setMsg(errText(err));
    }
  };
  return (
    <form class="m-panel" onSubmit={save} aria-label="Story settings">
      <h3>Near-duplicates and stories</h3>
      <div class="m-grid">
        <div class="m-field"><label for="st-thr">Near-duplicate from similarity</label>
          <input id="st-thr" type="number" step="0.05" min="0.05" max="1" value={value.duplicate_threshold} onInput={num("duplicate_threshold")} /></div>
        <div class="m-field"><label for="st-pol">Near-duplicates are</label>
          <select id="st-pol" value={value.duplicate_policy}
            onChange={(e) => setDraft({ ...draft, duplicate_policy: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="annotate_all">all annotated</option>
            <option value="one_per_group">annotated once per group (labels copied on export)</option>
          </select></div>
        <div class="m-field"><label for="st-win">Story date window (± days)</label>
          <input id="st-win" type="number" min="0" max="3650" value={value.story_window_days} onInput={num("story_window_days")} /></div>
        <div class="m-field"><label for="st-sim">Story text similarity (cosine)</label>
          <input id="st-sim" type="number" step="0.01" min="0.01" max="1" value={value.story_similarity} onInput={num("story_similarity")} /></div>
      </div>
      <button type="submit" class="m-btn m-primary">Save settings</button> {msg && <span role="status">{msg}</span>}
    </form>
  );
}

function StoryScreen({ project, storyId }: { project: ProjectDoc; storyId: number }) {
  const { data, error, reload } = useLoad(() => api<Compare>("GET", `projects/${project.id}/stories/${storyId}/compare/`),
    [project.id, storyId]);
  const [target, setTarget] = useState<string>("");
  const [name, setName] = useState<string | null>(null);
  const [moving, setMoving] = useState<number[]>([]);
  const [fail, setFail] = useState<string | null>(null);
  const admin = project.role === "admin";
  const tkey = target || data?.targets[0]?.key || "";
  const chart = useMemo(() => data && tkey ? stanceChart(data.outlets, tkey, project.label_schema?.stance_labels ?? []) : null,
    [data, tkey]);
  if (!data) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;
  const targetName = (k: string) => data.targets.find((t) => t.key === k)?.name ?? k;
  const rename = async (e: Event) => {
    e.preventDefault();
    try {
      await api("PATCH", `projects/${project.id}/stories/${storyId}/`, { name });
      setName(null);
      reload();
    } catch (err) { setFail(errText(err)); }
  };
  const split = async () => {
    try {
      const created = await api<{ id: number }>("POST", `projects/${project.id}/stories/${storyId}/split/`, { articles: moving });
      go(`/manage/projects/${project.id}/stories/${created.id}`);
    } catch (err) { setFail(errText(err)); }
  };
  return (
    <section data-testid="story" class="m-story">
      <p><a href={`/manage/projects/${project.id}/stories`} onClick={link(`/manage/projects/${project.id}/stories`)}>← All stories</a></p>
      <div class="m-head">
        <h2>{data.name || `Story ${data.id}`} {data.manual && <span class="m-badge">manual</span>}</h2>
        {admin && (name === null
          ? <button type="button" class="m-btn" onClick={() => setName(data.name)}>Rename</button>
          : <form onSubmit={rename}><label for="story-name" class="m-sr">New name</label>
              <input id="story-name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />{" "}
              <button type="submit" class="m-btn m-primary">Save</button></form>)}
      </div>
      {fail && <p class="m-error" role="alert">{fail}</p>}
      <p class="m-muted">{data.articles.length} articles from {data.outlets.length} outlets.
        Labels: gold, else the annotators' majority, else none.</p>

      <div class="m-compare" data-testid="compare-columns">
        {data.articles.map((a) => (
          <article key={a.article_id} class="m-compare-col" data-testid="compare-column" aria-label={a.outlet}>
            <h3>{a.outlet}</h3>
            <p class="m-small"><strong>{a.title || a.id}</strong></p>
            <p class="m-muted m-small">{day(a.published)}{a.undated && <> <span class="m-badge">grouped by text alone</span></>}</p>
            {admin && <label class="m-check m-small"><input type="checkbox" checked={moving.includes(a.article_id)}
              onChange={(e) => setMoving((m) => (e.currentTarget as HTMLInputElement).checked ? [...m, a.article_id] : m.filter((x) => x !== a.article_id))} />
              move to a new story</label>}
            <dl class="m-small">
              {data.targets.map((t) => <><dt key={`t-${t.key}`}>{t.name}</dt><dd key={`d-${t.key}`}>{a.stance[t.key] ?? "—"}</dd></>)}
              <dt>Frames</dt><dd>{a.frames.length ? a.frames.join(", ") : "—"}</dd>
              <dt>Labels from</dt><dd>{a.labels_from ?? "nobody yet"}</dd>
            </dl>
            <h4>Quotes{a.quotes_from === "suggestions" && <span class="m-badge">suggested</span>}</h4>
            {a.quotes.length === 0 ? <p class="m-muted m-small">None marked.</p> : (
              <ul class="m-small">{a.quotes.map((q) => <li key={q.start}>{quoted(q.text)} — {q.speaker_canonical ?? q.speaker ?? "unknown"}</li>)}</ul>
            )}
            <details><summary>Text</summary><p class="m-compare-text">{a.text}{a.truncated && " …"}</p></details>
          </article>
        ))}
      </div>
      {admin && moving.length > 0 && (
        <p><button type="button" class="m-btn" onClick={split}>Move {moving.length} article{moving.length > 1 ? "s" : ""} to a new story</button></p>
      )}

      {data.targets.length > 0 && chart && (
        <div class="m-panel">
          <h3>Stance by outlet{" "}
            <select aria-label="Target" value={tkey} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)}>
              {data.targets.map((t) => <option key={t.key} value={t.key}>{t.name}</option>)}
            </select>
          </h3>
          <ChartBox config={chart} label={`Stance on ${targetName(tkey)} by outlet`} height={Math.max(160, 40 * data.outlets.length)} />
        </div>
      )}
      <div class="m-panels">
        <div class="m-panel">
          <h3>Who is quoted by whom</h3>
          {data.speakers.length === 0 ? <p class="m-muted">No quotes with a speaker yet.</p> : (
            <table class="m-table" data-testid="speakers">
              <thead><tr><th>Speaker</th>{data.outlets.map((o) => <th key={o.outlet}>{o.outlet}</th>)}</tr></thead>
              <tbody>{data.speakers.map((s) => (
                <tr key={s.speaker}><td title={s.aliases.join(", ")}>{s.speaker}</td>
                  {data.outlets.map((o) => <td key={o.outlet}>{s.outlets[o.outlet] ?? ""}</td>)}</tr>
              ))}</tbody>
            </table>
          )}
        </div>
        <div class="m-panel">
          <h3>Quotes several outlets share</h3>
          {data.shared_quotes.length === 0 ? <p class="m-muted">None.</p> : (
            <ul data-testid="shared-quotes">{data.shared_quotes.map((q) => (
              <li key={q.text}>{quoted(q.text)}{q.speaker && <> — {q.speaker}</>} <span class="m-muted">({q.outlets.join(", ")})</span></li>
            ))}</ul>
          )}
        </div>
      </div>
    </section>
  );
}

/** The dashboard's panel: stance by outlet for the largest stories. */
export function StoryStancePanel({ project }: { project: ProjectDoc }) {
  const { data } = useLoad(() => api<Array<{ id: number; name: string; articles: number; outlets: Compare["outlets"] }>>(
    "GET", `projects/${project.id}/stories/stance-by-outlet/`), [project.id]);
  const target = project.targets[0]?.key;
  if (!data || data.length === 0 || !target) return null;
  return (
    <div class="m-panel" data-testid="story-stance">
      <h3>Stance by outlet per story ({project.targets[0].name})</h3>
      <div class="m-panels">
        {data.slice(0, 4).map((s) => (
          <div key={s.id}>
            <h4><a href={`/manage/projects/${project.id}/stories/${s.id}`} onClick={link(`/manage/projects/${project.id}/stories/${s.id}`)}>
              {s.name || `Story ${s.id}`}</a> <span class="m-muted">({s.articles} articles)</span></h4>
            <ChartBox config={stanceChart(s.outlets, target, project.label_schema?.stance_labels ?? [])}
              label={`Stance by outlet in ${s.name || `story ${s.id}`}`} height={Math.max(140, 34 * s.outlets.length)} />
          </div>
        ))}
      </div>
    </div>
  );
}
