/** Adjudication: the reviewer queue and the side-by-side view of one article, where a reviewer
 * picks one annotation, merges parts of several (the "use" buttons), or edits the result into gold:
 * spans added by selecting text (snapped to words like the annotator's screen, Alt: exact), moved
 * by keys or by re-selecting, relabelled, removed, a quote's kind and speaker set. Any article can
 * be adjudicated, also one with a single annotation or none. Saving sends the gold version it was
 * based on, so a concurrent change by another reviewer is reported, never overwritten. */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { readSelection } from "../article";
import { safeHref } from "../links";
import { TextIndex } from "../offsets";
import { useLoad } from "./app";
import { type DraftSpan, moveBoundary, newKey, QUOTE_KINDS, sameSpan, selectionToRange, spanBody, withAttr } from "./goldspans";
import { runs } from "./highlight";
import { ApiError, api, type FieldErrors, fieldErrors } from "./http";
import { go, link } from "./router";
import { Errors } from "./setup";
import type { GoldDoc, Page, ProjectDoc, QueueItem, SideBySide, SpanView } from "./types";

const STATES: Array<[string, string]> = [
  ["open", "To adjudicate"], ["unanimous", "Unanimous"], ["few", "One or no annotation"], ["decided", "Decided"],
  ["all", "All"],
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
  spans: DraftSpan[];
  notes: string;
}

/** Every span someone offered: the annotators' (first occurrence) and the suggestions. */
type Offered = SpanView & { id: number; who: string[]; suggested?: boolean };

function candidates(view: SideBySide): Map<string, Offered> {
  const out = new Map<string, Offered>();
  for (const a of view.annotations) {
    for (const s of a.spans) {
      const k = spanKey(s);
      const seen = out.get(k);
      if (seen) seen.who.push(a.annotator.username);
      else out.set(k, { ...s, id: s.id!, who: [a.annotator.username] });
    }
  }
  for (const s of view.suggestions ?? []) {
    if (!out.has(spanKey(s))) out.set(spanKey(s), { ...s, id: s.id!, who: [`${s.origin} suggestion`], suggested: true });
  }
  return out;
}

function draftFrom(view: SideBySide, useGold = true): Draft {
  const gold = useGold ? view.gold : null;
  const base = gold ?? view.majority;
  const offered = candidates(view);
  const spans: DraftSpan[] = base.spans.map((s) => ({
    key: newKey(), start: s.start, end: s.end, label: s.label, attrs: { ...(s.attrs ?? {}) },
    ...(gold ? { id: s.id } : { from_span: offered.get(spanKey(s))?.id }),
  }));
  return { stance: { ...base.stance }, frames: [...base.frames], primary_frame: base.primary_frame,
    spans, notes: gold?.notes ?? "" };
}

const PROVENANCE: Record<string, string> = {
  annotation: "annotator", suggestion: "suggestion", consensus: "majority", adjudicator: "adjudicator",
};

export function AdjudicateArticle({ project, articleId }: { project: ProjectDoc; articleId: number }) {
  const url = `projects/${project.id}/adjudication/articles/${articleId}/`;
  const { data: view, error, reload } = useLoad(() => api<SideBySide>("GET", url), [url]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState<GoldDoc | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [pending, setPending] = useState<{ start: number; end: number } | null>(null);
  const [newLabel, setNewLabel] = useState<string>("");
  const textRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (view) {
      setDraft(draftFrom(view));
      setSelected(null);
      setPending(null);
    }
  }, [view]);
  const index = useMemo(() => new TextIndex(view?.article.text ?? ""), [view]);
  if (!view || !draft) return error ? <p class="m-error" role="alert">{error}</p> : <p class="m-muted">Loading…</p>;

  const offered = candidates(view);
  const labels = view.label_schema.span_labels;
  const label = newLabel || labels[0] || "";
  const inDraft = (s: { start: number; end: number; label: string }) => draft.spans.find((d) => sameSpan(d, s));
  const sel = draft.spans.find((d) => d.key === selected) ?? null;
  const setSpans = (spans: DraftSpan[]) => setDraft({ ...draft, spans });
  const updateSpan = (key: string, f: (s: DraftSpan) => DraftSpan) =>
    setSpans(draft.spans.map((s) => (s.key === key ? f(s) : s)));

  async function decide(body: Record<string, unknown>) {
    setBusy(true);
    setErrors({});
    try {
      const gold = await api<GoldDoc>("POST", `${url}decide/`, { ...body, version: view!.gold?.version ?? 0 });
      setSaved(gold);
      reload();
    } catch (e) {
      if (e instanceof ApiError && e.code === "stale_write") {
        setErrors({ "": ["Someone else changed this gold meanwhile. Reload to see it, then apply your change again."] });
      } else setErrors(fieldErrors(e));
    } finally {
      setBusy(false);
    }
  }
  const pick = (annotationId: number) => decide({ method: "pick", annotation: annotationId, notes: draft.notes });
  const submitDraft = (e: Event) => {
    e.preventDefault();
    decide({
      method: "edit", stance: draft.stance, frames: draft.frames, primary_frame: draft.primary_frame, notes: draft.notes,
      spans: draft.spans.map(spanBody),
    });
  };
  async function undo() {
    await api("DELETE", `${url}gold/?version=${view!.gold?.version ?? 0}`);
    setSaved(null);
    reload();
  }
  const toggleFrame = (f: string) => setDraft({ ...draft,
    frames: draft.frames.includes(f) ? draft.frames.filter((x) => x !== f) : [...draft.frames, f] });
  const stanceDiffers = (key: string) => view.comparison.stance[key] && !view.comparison.stance[key].agree;

  /** Mouse up in the text: remember the selection, snapped now (Alt held: exact). */
  const onSelect = (e: MouseEvent) => {
    const raw = readSelection(textRef.current);
    setPending(raw ? selectionToRange(index, raw, e.altKey) : null);
  };
  const addSpan = () => {
    if (!pending || !label) return;
    const span = { start: pending.start, end: pending.end, label };
    if (inDraft(span)) return;
    const source = offered.get(spanKey(span));
    const d: DraftSpan = { key: newKey(), ...span, attrs: label === "QUOTE" ? { kind: "direct" } : {},
      ...(source ? { from_span: source.id, attrs: { ...source.attrs } } : {}) };
    setSpans([...draft.spans, d]);
    setSelected(d.key);
    setPending(null);
    window.getSelection()?.removeAllRanges();
  };
  const moveToSelection = () => {
    if (!pending || !sel) return;
    updateSpan(sel.key, (s) => ({ ...s, start: pending.start, end: pending.end }));
    setPending(null);
    window.getSelection()?.removeAllRanges();
  };
  const speakerFromSelection = () => {
    if (!pending || !sel) return;
    updateSpan(sel.key, (s) => withAttr(withAttr(s, "speaker_span", { start: pending.start, end: pending.end }),
      "speaker", index.slice(pending.start, pending.end)));
    setPending(null);
    window.getSelection()?.removeAllRanges();
  };
  /** Keys on a selected gold span: ←/→ move its end by a word, with Shift its start; Alt: one character. */
  const onSpanKey = (e: KeyboardEvent, key: string) => {
    const s = draft.spans.find((d) => d.key === key);
    if (!s) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      const r = moveBoundary(index, s, e.shiftKey ? "start" : "end", e.key === "ArrowLeft" ? -1 : 1, e.altKey);
      updateSpan(key, (x) => ({ ...x, ...r }));
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      setSpans(draft.spans.filter((d) => d.key !== key));
      setSelected(null);
    }
  };
  const nudge = (s: DraftSpan, edge: "start" | "end", dir: -1 | 1) => (e: MouseEvent) =>
    updateSpan(s.key, (x) => ({ ...x, ...moveBoundary(index, x, edge, dir, e.altKey) }));

  let u16 = 0;
  const marks = [
    // Suggestions are listed below, not marked: dozens of model entities would hide what people said.
    ...[...offered.values()].filter((s) => !s.suggested).map((s) => ({
      start: s.start, end: s.end,
      kind: s.who.length === view.annotations.length ? "m-hl-agree" : "m-hl-some",
      title: `${s.label} · ${s.who.join(", ")}`,
    })),
    ...draft.spans.map((s) => ({ start: s.start, end: s.end, kind: s.key === selected ? "m-hl-gold m-hl-sel" : "m-hl-gold",
      title: `gold: ${s.label}` })),
  ];

  return (
    <section class="m-adjudicate">
      <p><a href={`/manage/projects/${project.id}/adjudication`} onClick={link(`/manage/projects/${project.id}/adjudication`)}>← Queue</a></p>
      <h2>{view.article.title || view.article.external_id}</h2>
      <p class="m-muted">{[view.article.source, `${view.annotations.length} submitted annotation${view.annotations.length === 1 ? "" : "s"}`]
        .filter(Boolean).join(" · ")}{safeHref(view.article.url) && <> · <a href={safeHref(view.article.url)!} rel="noreferrer" target="_blank">source</a></>}</p>
      {view.gold && (
        <p class="m-note" role="status" data-testid="gold-status">
          Gold: <strong>{view.gold.method}</strong>{view.gold.decided_by && <> by {view.gold.decided_by}</>}
          {" "}({new Date(view.gold.decided_at).toLocaleString()}, version {view.gold.version}) <button class="m-link" type="button" onClick={undo}>Undo</button>
        </p>
      )}
      {saved && <p class="m-ok" role="status">Saved as gold.</p>}
      <Errors errors={errors} field="" />
      <Errors errors={errors} field="annotation" />
      <details class="m-text" open>
        <summary>Article text <span class="m-muted m-small">(green: every annotator marked it; amber: only some; underlined: in the gold draft). Select text to add a gold span (whole words; hold Alt for exact).</span></summary>
        <div class="m-article" data-testid="article-text" ref={textRef} onMouseUp={onSelect}>
          {runs(index, marks).map((r, i) => {
            const u = u16;
            u16 += r.text.length;
            return r.marks.length === 0 ? <span key={i} data-u={u}>{r.text}</span>
              : <mark key={i} data-u={u} class={r.marks.map((m) => m.kind).join(" ")} title={r.marks.map((m) => m.title).join("\n")}>{r.text}</mark>;
          })}
        </div>
      </details>
      <div class="m-actions m-selbar" data-testid="selection-bar">
        {pending ? <span>Selected: <q data-testid="pending-text">{index.slice(pending.start, pending.end)}</q> <span class="m-muted">({pending.start}–{pending.end})</span></span>
          : <span class="m-muted">No text selected.</span>}
        <select aria-label="Label for a new gold span" value={label} onChange={(e) => setNewLabel((e.currentTarget as HTMLSelectElement).value)}>
          {labels.map((l) => <option key={l} value={l}>{l}</option>)}
        </select>
        <button class="m-btn" type="button" disabled={!pending} onClick={addSpan}>Add to gold</button>
        <button class="m-btn" type="button" disabled={!pending || !sel} onClick={moveToSelection}>Move selected span here</button>
        <button class="m-btn" type="button" disabled={!pending || !sel || sel.label !== "QUOTE"} onClick={speakerFromSelection}>Selection is the speaker</button>
      </div>

      <h3>Gold spans <span class="m-muted m-small">(click one, then ←/→ move its end by a word, Shift+←/→ its start, Alt: one character; Delete removes it)</span></h3>
      <table class="m-table" data-testid="gold-spans">
        <thead><tr><th>Label</th><th>Text</th><th>Boundaries</th><th>Quote</th><th>From</th><th /></tr></thead>
        <tbody>
          {draft.spans.length === 0 && <tr><td colSpan={6} class="m-muted">No gold spans yet: select text above to add one.</td></tr>}
          {[...draft.spans].sort((x, y) => x.start - y.start || x.end - y.end).map((s) => {
            const stored = s.id !== undefined ? view.gold?.spans.find((g) => g.id === s.id) : undefined;
            const moved = stored && !sameSpan(stored, s);
            const annotator = (id?: number) => view.annotations.find((a) => a.id === id)?.annotator.username;
            const from = stored?.provenance ? (stored.provenance.from === "annotation" && annotator(stored.provenance.annotation))
              || PROVENANCE[stored.provenance.from] || stored.provenance.from
              : s.from_span !== undefined ? offered.get(spanKey(s))?.who.join(", ") ?? "annotator (changed)" : "adjudicator";
            return (
              <tr key={s.key} tabIndex={0} class={s.key === selected ? "m-row-sel" : ""} data-gold-span={spanKey(s)}
                  onClick={() => setSelected(s.key)} onFocus={() => setSelected(s.key)} onKeyDown={(e) => onSpanKey(e, s.key)}>
                <td><select aria-label="Gold span label" value={s.label}
                            onChange={(e) => updateSpan(s.key, (x) => ({ ...x, label: (e.currentTarget as HTMLSelectElement).value }))}>
                  {labels.map((l) => <option key={l} value={l}>{l}</option>)}
                </select></td>
                <td>{index.slice(s.start, s.end)}</td>
                <td class="m-nowrap">
                  <button class="m-link" type="button" title="start one word left (Alt: one character)" onClick={nudge(s, "start", -1)}>◀</button>
                  <button class="m-link" type="button" title="start one word right" onClick={nudge(s, "start", 1)}>▶</button>
                  <span class="m-muted"> {s.start}–{s.end} </span>
                  <button class="m-link" type="button" title="end one word left" onClick={nudge(s, "end", -1)}>◀</button>
                  <button class="m-link" type="button" title="end one word right (Alt: one character)" onClick={nudge(s, "end", 1)}>▶</button>
                </td>
                <td>{s.label === "QUOTE" ? (
                  <span class="m-quote">
                    <select aria-label="Quote kind" value={String(s.attrs.kind ?? "")}
                            onChange={(e) => updateSpan(s.key, (x) => withAttr(x, "kind", (e.currentTarget as HTMLSelectElement).value))}>
                      <option value="">(kind)</option>
                      {QUOTE_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
                    </select>
                    <input aria-label="Speaker" placeholder="speaker" value={String(s.attrs.speaker ?? "")}
                           onInput={(e) => updateSpan(s.key, (x) => withAttr(x, "speaker", (e.currentTarget as HTMLInputElement).value))} />
                    {s.attrs.speaker_span ? <span class="m-muted m-small"> @{(s.attrs.speaker_span as { start: number }).start}
                      <button class="m-link" type="button" title="forget the speaker's position"
                              onClick={() => updateSpan(s.key, (x) => withAttr(x, "speaker_span", null))}>×</button></span> : null}
                  </span>) : <span class="m-muted">–</span>}</td>
                <td class="m-muted">{from}{moved ? " · moved" : ""}</td>
                <td><button class="m-link" type="button" aria-label={`Remove ${s.label} ${index.slice(s.start, s.end)}`}
                            onClick={(e) => { e.stopPropagation(); setSpans(draft.spans.filter((d) => d.key !== s.key)); }}>Remove</button></td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Errors errors={errors} field="spans" />

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

      <h3>Offered spans <span class="m-muted m-small">(the annotators' and the model's; tick to take one into gold)</span></h3>
      <table class="m-table" data-testid="spans">
        <thead><tr><th>In gold</th><th>Label</th><th>Text</th><th>Offsets</th><th>Marked by</th></tr></thead>
        <tbody>
          {offered.size === 0 && <tr><td colSpan={5} class="m-muted">Nobody marked a span in this article.</td></tr>}
          {[...offered.entries()].sort(([, x], [, y]) => x.start - y.start || x.end - y.end).map(([k, s]) => (
            <tr key={k} class={s.suggested || s.who.length === view.annotations.length ? "" : "m-differs"}>
              <td><input type="checkbox" aria-label={`Keep ${s.label} ${index.slice(s.start, s.end)}`} checked={!!inDraft(s)}
                         onChange={(e) => (e.currentTarget as HTMLInputElement).checked
                           ? setSpans([...draft.spans, { key: newKey(), start: s.start, end: s.end, label: s.label,
                             attrs: { ...(s.attrs ?? {}) }, from_span: s.id }])
                           : setSpans(draft.spans.filter((d) => !sameSpan(d, s)))} /></td>
              <td><span class="m-chip">{s.label}</span></td>
              <td>{index.slice(s.start, s.end)}</td>
              <td class="m-muted">{s.start}–{s.end}</td>
              <td>{s.who.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={submitDraft} class="m-actions">
        <button class="m-btn m-primary" type="submit" disabled={busy}>Save gold draft</button>
        <button class="m-btn" type="button" onClick={() => setDraft(draftFrom(view, false))}>Reset to majority</button>
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
