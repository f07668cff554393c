/** Adjudication: the reviewer queue and the side-by-side view of one article, where a reviewer
 * picks one annotation, merges parts of several (the "use" buttons), or edits the result, into gold. */
import { useEffect, useMemo, useState } from "preact/hooks";
import { safeHref } from "../links";
import { TextIndex } from "../offsets";
import { useLoad } from "./app";
import { runs } from "./highlight";
import { api, type FieldErrors, fieldErrors } from "./http";
import { go, link } from "./router";
import { Errors } from "./setup";
import type { GoldDoc, Page, ProjectDoc, QueueItem, SideBySide, SpanView } from "./types";

const STATES: Array<[string, string]> = [
  ["open", "To adjudicate"], ["unanimous", "Unanimous"], ["decided", "Decided"], ["all", "All"],
];
const PAGE = 50;

export function AdjudicationQueue({ project }: { project: ProjectDoc }) {
  const [state, setState] = useState("open");
  const [limit, setLimit] = useState(PAGE);
  const { data, error, reload } = useLoad(
    () => api<Page<QueueItem>>("GET", `projects/${project.id}/adjudication/?state=${state}&limit=${limit}`),
    [project.id, state, limit]);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(what: "accept-unanimous" | "majority") {
    setBusy(true);
    setMessage(null);
    try {
      if (what === "accept-unanimous") {
        const r = await api<{ accepted: number; not_unanimous: number }>(
          "POST", `projects/${project.id}/adjudication/accept-unanimous/`, {});
        setMessage(`${r.accepted} unanimous article${r.accepted === 1 ? "" : "s"} accepted as gold.`);
      } else {
        const r = await api<Record<string, number>>("POST", `projects/${project.id}/adjudication/majority/`);
        setMessage(`Majority gold: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, `
          + `${r.removed} removed, ${r.no_majority} without a majority.`);
      }
      reload();
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <div class="m-head">
        <h2>Adjudication</h2>
        <div class="m-actions">
          <button class="m-btn" type="button" disabled={busy} onClick={() => run("accept-unanimous")}>Accept all unanimous</button>
          <button class="m-btn" type="button" disabled={busy} onClick={() => run("majority")}>Compute majority gold</button>
        </div>
      </div>
      {message && <p class="m-note" role="status">{message}</p>}
      <nav class="m-subtabs" aria-label="Queue filter">
        {STATES.map(([s, label]) => (
          <button key={s} type="button" aria-pressed={s === state} onClick={() => { setState(s); setLimit(PAGE); }}>{label}</button>
        ))}
      </nav>
      {error && <p class="m-error" role="alert">{error}</p>}
      {data && data.count === 0 && <p class="m-muted" data-testid="queue-empty">Nothing here.</p>}
      {data && data.count > 0 && (
        <table class="m-table" data-testid="queue">
          <thead><tr><th>Article</th><th>Source</th><th>Annotators</th><th>Differs on</th><th>Gold</th></tr></thead>
          <tbody>
            {data.results.map((item) => {
              const href = `/manage/projects/${project.id}/adjudication/${item.article_id}`;
              return (
                <tr key={item.article_id}>
                  <td><a href={href} onClick={link(href)}>{item.title || item.external_id || `#${item.article_id}`}</a></td>
                  <td>{item.source}</td>
                  <td>{item.annotators.map((a) => a.username).join(", ")} <span class="m-muted">({item.submitted}/{item.overlap})</span></td>
                  <td>{item.disagreements.map((d) => <span key={d} class="m-chip">{d.replace("stance:", "")}</span>)}</td>
                  <td>{item.gold ? <span class="m-badge">{item.gold.method}{item.gold.decided_by ? ` · ${item.gold.decided_by}` : ""}</span> : "–"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {data && data.count > data.results.length && (
        <button class="m-btn" type="button" onClick={() => setLimit(limit + PAGE)}>Show more ({data.count - data.results.length} left)</button>
      )}
    </section>
  );
}

const spanKey = (s: { start: number; end: number; label: string }) => `${s.start}:${s.end}:${s.label}`;

interface Draft {
  stance: Record<string, string>;
  frames: string[];
  primary_frame: string;
  spans: Record<string, boolean>;
  notes: string;
}

function draftFrom(view: SideBySide): Draft {
  const base = view.gold ?? view.majority;
  const spans: Record<string, boolean> = {};
  for (const s of base.spans) spans[spanKey(s)] = true;
  return { stance: { ...base.stance }, frames: [...base.frames], primary_frame: base.primary_frame,
    spans, notes: view.gold?.notes ?? "" };
}

export function AdjudicateArticle({ project, articleId }: { project: ProjectDoc; articleId: number }) {
  const url = `projects/${project.id}/adjudication/articles/${articleId}/`;
  const { data: view, error, reload } = useLoad(() => api<SideBySide>("GET", url), [url]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState<GoldDoc | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (view) setDraft(draftFrom(view));
  }, [view]);
  const index = useMemo(() => new TextIndex(view?.article.text ?? ""), [view]);
  if (!view || !draft) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;

  // Every distinct span any annotator marked (first occurrence carries its attrs), plus the gold's.
  const allSpans = new Map<string, SpanView>();
  for (const a of view.annotations) for (const s of a.spans) if (!allSpans.has(spanKey(s))) allSpans.set(spanKey(s), s);
  for (const s of view.gold?.spans ?? []) if (!allSpans.has(spanKey(s))) allSpans.set(spanKey(s), s);
  const owners = (k: string) => view.annotations.filter((a) => a.spans.some((s) => spanKey(s) === k)).map((a) => a.annotator.username);

  async function decide(body: Record<string, unknown>) {
    setBusy(true);
    setErrors({});
    try {
      const gold = await api<GoldDoc>("POST", `${url}decide/`, body);
      setSaved(gold);
      reload();
    } catch (e) {
      setErrors(fieldErrors(e));
    } finally {
      setBusy(false);
    }
  }
  const pick = (annotationId: number) => decide({ method: "pick", annotation: annotationId, notes: draft.notes });
  const submitDraft = (e: Event) => {
    e.preventDefault();
    decide({
      method: "edit", stance: draft.stance, frames: draft.frames, primary_frame: draft.primary_frame, notes: draft.notes,
      spans: [...allSpans.entries()].filter(([k]) => draft.spans[k])
        .map(([, s]) => ({ start: s.start, end: s.end, label: s.label, attrs: s.attrs ?? {} })),
    });
  };
  async function undo() {
    await api("DELETE", `${url}gold/`);
    setSaved(null);
    reload();
  }
  const toggleFrame = (f: string) => setDraft({ ...draft,
    frames: draft.frames.includes(f) ? draft.frames.filter((x) => x !== f) : [...draft.frames, f] });
  const stanceDiffers = (key: string) => view.comparison.stance[key] && !view.comparison.stance[key].agree;

  return (
    <section class="m-adjudicate">
      <p><a href={`/manage/projects/${project.id}/adjudication`} onClick={link(`/manage/projects/${project.id}/adjudication`)}>← Queue</a></p>
      <h2>{view.article.title || view.article.external_id}</h2>
      <p class="m-muted">{view.article.source}{safeHref(view.article.url) && <> · <a href={safeHref(view.article.url)!} rel="noreferrer" target="_blank">source</a></>}</p>
      {view.gold && (
        <p class="m-note" role="status" data-testid="gold-status">
          Gold: <strong>{view.gold.method}</strong>{view.gold.decided_by && <> by {view.gold.decided_by}</>}
          {" "}({new Date(view.gold.decided_at).toLocaleString()}) <button class="m-link" type="button" onClick={undo}>Undo</button>
        </p>
      )}
      {saved && <p class="m-ok" role="status">Saved as gold.</p>}
      <Errors errors={errors} field="" />
      <Errors errors={errors} field="annotation" />
      <details class="m-text" open>
        <summary>Article text <span class="m-muted m-small">(green: every annotator marked it; amber: only some; outlined: in the gold draft)</span></summary>
        <div class="m-article" data-testid="article-text">
          {runs(index, [...allSpans.entries()].map(([k, s]) => ({
            start: s.start, end: s.end, kind: `${owners(k).length === view.annotations.length ? "m-hl-agree" : "m-hl-some"}${draft.spans[k] ? " m-hl-gold" : ""}`,
            title: `${s.label} · ${owners(k).join(", ") || "gold only"}`,
          }))).map((r, i) => r.marks.length === 0 ? <span key={i}>{r.text}</span>
            : <mark key={i} class={r.marks.map((m) => m.kind).join(" ")} title={r.marks.map((m) => m.title).join("\n")}>{r.text}</mark>)}
        </div>
      </details>

      <table class="m-table m-side" data-testid="side-by-side">
        <thead>
          <tr><th />{view.annotations.map((a) => (
            <th key={a.id}>{a.annotator.username}<br />
              <button class="m-btn m-small" type="button" disabled={busy} onClick={() => pick(a.id)}
                      data-pick={a.annotator.username}>Pick this annotation</button>
            </th>))}
            <th>Gold draft</th></tr>
        </thead>
        <tbody>
          {view.targets.map((t) => (
            <tr key={t.key} class={stanceDiffers(t.key) ? "m-differs" : ""}>
              <th scope="row">{t.name}</th>
              {view.annotations.map((a) => (
                <td key={a.id}>{a.stance[t.key] ?? "–"}{a.stance[t.key] && stanceDiffers(t.key) && (
                  <button class="m-link m-small" type="button" onClick={() => setDraft({ ...draft, stance: { ...draft.stance, [t.key]: a.stance[t.key] } })}>use</button>)}</td>
              ))}
              <td>
                <select aria-label={`Gold stance for ${t.name}`} name={`gold-stance-${t.key}`} value={draft.stance[t.key] ?? ""}
                        onChange={(e) => setDraft({ ...draft, stance: { ...draft.stance, [t.key]: (e.currentTarget as HTMLSelectElement).value } })}>
                  <option value="">(undecided)</option>
                  {view.label_schema.stance_labels.map((l) => <option key={l} value={l}>{l}</option>)}
                </select>
                <Errors errors={errors} field={`stance.${t.key}`} />
              </td>
            </tr>
          ))}
          <tr class={view.comparison.frames.agree ? "" : "m-differs"}>
            <th scope="row">Frames</th>
            {view.annotations.map((a) => (
              <td key={a.id}>{a.frames.join(", ") || "–"}{!view.comparison.frames.agree && (
                <button class="m-link m-small" type="button" onClick={() => setDraft({ ...draft, frames: [...a.frames], primary_frame: a.primary_frame })}>use</button>)}</td>
            ))}
            <td>
              <div class="m-frames">
                {view.label_schema.frames.map((f) => (
                  <label key={f} class="m-check"><input type="checkbox" checked={draft.frames.includes(f)} onChange={() => toggleFrame(f)} />{f}</label>
                ))}
              </div>
              <Errors errors={errors} field="frames" />
            </td>
          </tr>
          <tr class={view.comparison.primary_frame.agree ? "" : "m-differs"}>
            <th scope="row">Primary frame</th>
            {view.annotations.map((a) => <td key={a.id}>{a.primary_frame || "–"}</td>)}
            <td>
              <select aria-label="Gold primary frame" value={draft.primary_frame}
                      onChange={(e) => setDraft({ ...draft, primary_frame: (e.currentTarget as HTMLSelectElement).value })}>
                <option value="">(none)</option>
                {draft.frames.map((f) => <option key={f} value={f}>{f}</option>)}
              </select>
              <Errors errors={errors} field="primary_frame" />
            </td>
          </tr>
          <tr>
            <th scope="row">Notes</th>
            {view.annotations.map((a) => <td key={a.id} class="m-muted">{a.notes}</td>)}
            <td><textarea aria-label="Adjudication notes" rows={2} value={draft.notes}
                          onInput={(e) => setDraft({ ...draft, notes: (e.currentTarget as HTMLTextAreaElement).value })} /></td>
          </tr>
        </tbody>
      </table>

      <h3>Spans</h3>
      <table class="m-table" data-testid="spans">
        <thead><tr><th>In gold</th><th>Label</th><th>Text</th><th>Offsets</th><th>Marked by</th></tr></thead>
        <tbody>
          {allSpans.size === 0 && <tr><td colSpan={5} class="m-muted">Nobody marked a span in this article.</td></tr>}
          {[...allSpans.entries()].sort(([, x], [, y]) => x.start - y.start || x.end - y.end).map(([k, s]) => {
            const by = owners(k);
            return (
              <tr key={k} class={by.length === view.annotations.length ? "" : "m-differs"}>
                <td><input type="checkbox" aria-label={`Keep ${s.label} ${index.slice(s.start, s.end)}`} checked={!!draft.spans[k]}
                           onChange={(e) => setDraft({ ...draft, spans: { ...draft.spans, [k]: (e.currentTarget as HTMLInputElement).checked } })} /></td>
                <td><span class="m-chip">{s.label}</span></td>
                <td>{index.slice(s.start, s.end)}</td>
                <td class="m-muted">{s.start}–{s.end}</td>
                <td>{by.join(", ") || "gold only"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Errors errors={errors} field="spans" />
      <form onSubmit={submitDraft} class="m-actions">
        <button class="m-btn m-primary" type="submit" disabled={busy}>Save gold draft</button>
        <button class="m-btn" type="button" onClick={() => setDraft(draftFrom({ ...view, gold: null }))}>Reset to majority</button>
        <NextButton project={project} current={articleId} />
      </form>
    </section>
  );
}

function NextButton({ project, current }: { project: ProjectDoc; current: number }) {
  async function next() {
    const page = await api<Page<QueueItem>>("GET", `projects/${project.id}/adjudication/?state=open&limit=2`);
    const item = page.results.find((i) => i.article_id !== current);
    go(item ? `/manage/projects/${project.id}/adjudication/${item.article_id}` : `/manage/projects/${project.id}/adjudication`);
  }
  return <button class="m-btn" type="button" onClick={next}>Next in queue →</button>;
}
