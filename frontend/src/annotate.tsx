/**
 * The annotation screen: article with spans, suggestions to accept or fix, stance per target,
 * frames, notes. Keyboard first; every edit goes through the pure functions in state.ts (so undo
 * and redo are free) and is autosaved by saver.ts.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, NetworkError, api, type AnnotationDoc, type AssignmentDoc, type Project } from "./api";
import { Header, openNextTask } from "./app";
import { ArticleText, readSelection, selectRange } from "./article";
import { type Caret, caretFor, caretRange, moveCaret, resizeRange, tokenAt, tokensOf } from "./caret";
import { assignLabelKeys, labelColors } from "./labels";
import { safeHref } from "./links";
import { layoutSpans, type Item } from "./layout";
import { TextIndex } from "./offsets";
import { navigate } from "./router";
import { AutoSaver, draftFromDoc, type SaveState } from "./saver";
import { isBlank, snapToGraphemes, snapToTokens } from "./snap";
import { SuggestedFrame, SuggestedStance, isAcceptFramesKey, isAcceptKey, useStanceSuggestions } from "./suggestions";
import {
  QUOTE_KINDS, type Draft, type History, type QuoteKind, type Span, type Suggestion, acceptAllWithLabel,
  acceptFrames, acceptSuggestion, addSpan, historyOf, nextQuoteKind, pendingSuggestions, quoteKindOf, record, redo,
  rejectSuggestion, relabelSpan, removeSpan, resizeSpan, setNotes, setPrimaryFrame, setQuoteKind, setSpeaker,
  setStance, speakerSuggestionOf, toggleFrame, undo,
} from "./state";

type Selected = { kind: "span"; key: string } | { kind: "sugg"; id: number } | null;
const idOf = (s: Selected) => (s ? (s.kind === "span" ? s.key : `sugg:${s.id}`) : null);

const SKIP_REASONS = ["Not a news article", "Not in English", "Duplicate of another article", "Text is broken or cut off"];

interface Loaded {
  a: AssignmentDoc;
  project: Project;
}

export function AnnotateScreen({ id }: { id: number }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    (async () => {
      const a = await api<AssignmentDoc>("GET", `assignments/${id}/`);
      const project = await api<Project>("GET", `projects/${a.project}/`);
      // Performance API marks: "data arrived" -> "interactive" (tests/benchmarks/bench_ui.py reads them).
      performance.mark("sp:data");
      if (live) setLoaded({ a, project });
    })().catch((e) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [id]);
  if (error) {
    return (
      <>
        <Header />
        <main class="page"><p class="banner banner-error" role="alert">{error}</p><a href="/">Back to my projects</a></main>
      </>
    );
  }
  if (!loaded) {
    return (
      <>
        <Header />
        <main class="page"><p class="muted">Loading article…</p></main>
      </>
    );
  }
  // Keyed by status and version: a reopen starts a fresh editor on the reopened annotation.
  return (
    <Annotator key={`${loaded.a.status}:${loaded.a.annotation.version}`} a={loaded.a} project={loaded.project}
      onReopened={(a) => setLoaded({ a, project: loaded.project })} />
  );
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
  "November", "December"];

/** "5 September 2025". By hand: toLocaleDateString builds an ICU formatter per call (~18 ms),
 * and this runs on every render of the screen. */
function fmtDate(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

function StatusPill({ s }: { s: SaveState }) {
  const text = {
    saved: "Saved",
    saving: "Saving…",
    offline: "Offline, retrying…",
    conflict: "Conflict: choose a version",
    closed: "Closed",
    error: "Not saved",
  }[s.kind];
  return (
    <span class={`save-pill save-${s.kind}`} role="status" aria-live="polite" data-save-state={s.kind}
      title={s.kind === "error" ? s.message : undefined}>
      <span class="dot" aria-hidden="true" />{text}
    </span>
  );
}

/** Which element a key press belongs to when it is not the screen's: form controls, links and
 * dialogs keep Enter, arrows and letters for themselves. */
function ownKeys(t: EventTarget | null): HTMLElement | null {
  return t instanceof HTMLElement ? t.closest("input, select, textarea, button, a[href], [contenteditable=true], [role=dialog]") : null;
}

export function Annotator({ a, project, onReopened }: {
  a: AssignmentDoc; project: Project; onReopened?: (a: AssignmentDoc) => void;
}) {
  const schema = project.label_schema;
  const text = a.article.text;
  const index = useMemo(() => new TextIndex(text), [text]);
  const suggestions: Suggestion[] = useMemo(
    () => a.suggestions.map((s) => ({ id: s.id, start: s.start, end: s.end, label: s.label, attrs: s.attrs ?? {}, origin: s.origin })),
    [a],
  );
  const labelKeys = useMemo(() => assignLabelKeys(schema.span_labels), [schema]);
  const keyToLabel = useMemo(() => new Map([...labelKeys].map(([l, k]) => [k, l])), [labelKeys]);
  const colors = useMemo(() => labelColors(schema.span_labels), [schema]);
  const readOnly = a.status === "submitted" || a.status === "skipped";

  const [saveState, setSaveState] = useState<SaveState>({ kind: readOnly ? "closed" : "saved" });
  const saver = useMemo(
    () => new AutoSaver({
      assignmentId: a.id, doc: a.annotation, storage: window.localStorage, onState: setSaveState,
      put: (body) => api<AnnotationDoc>("PUT", `assignments/${a.id}/annotation/`, body),
    }),
    [a],
  );
  const [hist, setHist] = useState<History>(() => historyOf(draftFromDoc(a.annotation)));
  const draft = hist.present;
  const [mine, setMine] = useState<Draft | null>(null); // the local draft while a conflict is shown

  // A backup left by a reload while offline: restore it, or ask if the server moved on meanwhile.
  useEffect(() => {
    if (readOnly) return;
    const b = saver.backup();
    if (!b) return;
    if (b.base === a.annotation.version) setHist((h) => record(h, b.draft));
    else {
      setMine(b.draft);
      saver.conflictWith(a.annotation);
    }
  }, [saver]);

  // A layout effect, not a passive one: the pill must turn to "Saving…" in the same frame as the
  // change it reports, or for a moment the screen shows the new label beside "Saved".
  useLayoutEffect(() => {
    if (!readOnly) saver.update(draft);
  }, [draft]);
  useEffect(() => () => saver.close(), [saver]);
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (saver.dirty && saver.state.kind !== "closed") e.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [saver]);

  const edit = useCallback((f: (d: Draft) => Draft, tag: string | null = null) => {
    if (readOnly) return;
    setHist((h) => record(h, f(h.present), tag));
  }, [readOnly]);

  const pending = useMemo(() => pendingSuggestions(draft, suggestions), [draft, suggestions]);
  const items: Item[] = useMemo(
    () => [
      ...draft.spans.map((s) => ({ id: s.key, start: s.start, end: s.end, label: s.label, suggested: false })),
      ...pending.map((s) => ({ id: `sugg:${s.id}`, start: s.start, end: s.end, label: s.label, suggested: true })),
    ],
    [draft.spans, pending],
  );
  const layout = useMemo(() => layoutSpans(index, items), [index, items]);
  const tokens = useMemo(() => tokensOf(text), [text]);
  const caretRef = useRef<Caret | null>(null);
  const segmentAt = useMemo(() => new Map(layout.segments.map((s) => [s.start, s])), [layout]);
  const order = useMemo(() => [...items].sort((x, y) => x.start - y.start || y.end - x.end), [items]);

  const [selected, setSelected] = useState<Selected>(null);
  const [hasTextSel, setHasTextSel] = useState(false);
  const [picking, setPicking] = useState(false);
  const [activeTarget, setActiveTarget] = useState(0);
  const [overlay, setOverlay] = useState<null | "help" | "skip" | "unreviewed">(null);
  const [guidelines, setGuidelines] = useState(false);
  const [message, setMessage] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [missing, setMissing] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const articleRef = useRef<HTMLDivElement>(null);

  const selSpan: Span | undefined = selected?.kind === "span" ? draft.spans.find((s) => s.key === selected.key) : undefined;
  const selSugg: Suggestion | undefined = selected?.kind === "sugg" ? pending.find((s) => s.id === selected.id) : undefined;
  const cur = selSpan ?? selSugg;
  // A selection that disappeared (undo, relabel) is dropped rather than pointing at nothing.
  useEffect(() => {
    if (selected && !selSpan && !selSugg) setSelected(null);
  }, [selected, selSpan, selSugg]);

  const speakers = useMemo(() => {
    const m = new Map<string, string>();
    for (const s of draft.spans) {
      const sp = s.attrs?.speaker;
      if (s.label === "QUOTE" && typeof sp === "string" && sp) m.set(s.key, sp);
    }
    for (const s of pending) {
      const sp = s.attrs?.speaker;
      if (s.label === "QUOTE" && typeof sp === "string" && sp) m.set(`sugg:${s.id}`, sp);
    }
    return m;
  }, [draft.spans, pending]);
  const selAttrs = (selSpan ?? selSugg)?.attrs;
  const speakerSpan = (selAttrs?.speaker_span as { start: number; end: number } | null | undefined) ?? null;

  // What a screen reader says about each span (its text is read as the article's).
  const describe = useMemo(() => {
    const m = new Map<string, string>();
    const say = (id: string, label: string, state: string, attrs: Record<string, unknown> | undefined) => {
      const parts = [label, state];
      if (label === "QUOTE") {
        const kind = quoteKindOf(attrs);
        if (kind) parts.push(`${kind} quote`);
        if (typeof attrs?.speaker === "string" && attrs.speaker) parts.push(`speaker: ${attrs.speaker}`);
      }
      if (id === idOf(selected)) parts.push("selected");
      m.set(id, parts.join(", "));
    };
    for (const s of draft.spans) say(s.key, s.label, "confirmed", s.attrs);
    for (const s of pending) say(`sugg:${s.id}`, s.label, `suggestion from ${s.origin === "import" ? "the import" : s.origin === "model" ? "the model" : s.origin}`, s.attrs);
    return m;
  }, [draft.spans, pending, selected]);

  const select = useCallback((s: Selected) => {
    setSelected(s);
    setPicking(false);
    const id = idOf(s);
    if (!id) return;
    requestAnimationFrame(() => {
      const item = layout.placed.find((p) => p.id === id);
      if (!item) return;
      const el = articleRef.current?.querySelector(`[data-u="${item.u16Start}"]`);
      el?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  }, [layout]);

  const itemToSelected = (it: Item): Selected => (it.suggested ? { kind: "sugg", id: Number(it.id.slice(5)) } : { kind: "span", key: it.id });

  const step = (dir: 1 | -1, onlyPending = false) => {
    const list = onlyPending ? order.filter((x) => x.suggested) : order;
    if (!list.length) return;
    const cur = idOf(selected);
    const at = cur ? order.findIndex((x) => x.id === cur) : -1;
    const curItem = at >= 0 ? order[at] : null;
    let next: Item | undefined;
    if (!curItem) next = dir === 1 ? list[0] : list[list.length - 1];
    else {
      const after = (x: Item) => x.start > curItem.start || (x.start === curItem.start && x.end < curItem.end);
      next = dir === 1 ? list.find((x) => x.id !== curItem.id && after(x)) : [...list].reverse().find((x) => x.id !== curItem.id && !after(x));
    }
    if (next) select(itemToSelected(next));
  };

  const acceptSelected = (label?: string) => {
    if (!selSugg) return;
    const s = selSugg;
    edit((d) => acceptSuggestion(d, s, label, suggestions));
    // Keep the flow: move on to the next suggestion after the one just accepted.
    const alsoAccepted = (label ?? s.label) === "QUOTE" ? speakerSuggestionOf(s, pending) : undefined;
    const nextSugg = order.find((x) => x.suggested && x.id !== `sugg:${s.id}` && x.id !== `sugg:${alsoAccepted?.id}`
      && (x.start > s.start || (x.start === s.start && x.end < s.end)));
    if (nextSugg) select(itemToSelected(nextSugg));
    else select({ kind: "span", key: `${s.start}:${s.end}:${label ?? s.label}` });
  };

  const rejectSelected = () => {
    if (selSugg) {
      const s = selSugg;
      edit((d) => rejectSuggestion(d, s.id));
      const nextSugg = order.find((x) => x.suggested && x.id !== `sugg:${s.id}` && x.start >= s.start);
      select(nextSugg ? itemToSelected(nextSugg) : null);
    } else if (selSpan) {
      const k = selSpan.key;
      edit((d) => removeSpan(d, k));
      select(null);
    }
  };

  const applyLabel = (label: string, exact: boolean) => {
    const raw = readSelection(articleRef.current);
    if (raw) {
      const r = exact ? snapToGraphemes(text, raw) : snapToTokens(text, raw);
      if (isBlank(text, r)) return;
      const cp = { start: index.toCodePoint(r.start, "floor"), end: index.toCodePoint(r.end, "ceil") };
      edit((d) => addSpan(d, cp, label, suggestions));
      caretRef.current = null;
      window.getSelection()?.removeAllRanges();
      setHasTextSel(false);
      setSelected({ kind: "span", key: `${cp.start}:${cp.end}:${label}` });
      return;
    }
    if (selSugg) acceptSelected(label);
    else if (selSpan) {
      const k = selSpan.key;
      edit((d) => relabelSpan(d, k, label));
      setSelected({ kind: "span", key: `${selSpan.start}:${selSpan.end}:${label}` });
    }
  };

  const acceptAll = (label: string) => {
    edit((d) => acceptAllWithLabel(d, suggestions, label));
  };

  // Pre-fill (a project setting) fills only what the annotator has not chosen yet.
  const modelSugg = useStanceSuggestions(a.id, readOnly, (sg) =>
    edit((d) => {
      const x = Object.entries(sg.stance).reduce((y, [k, s]) => (y.stance[k] ? y : setStance(y, k, s.label)), d);
      return x.frames.length ? x : acceptFrames(x, sg.frames.map((f) => f.frame), sg.primary_frame, schema.frames);
    }));
  const suggestedFrames = useMemo(() => new Map((modelSugg?.frames ?? []).map((f) => [f.frame, f])), [modelSugg]);
  const framesLeft = [...suggestedFrames.keys()].some((f) => !draft.frames.includes(f))
    || (!!modelSugg?.primary_frame && !draft.primary_frame);
  const acceptSuggestedFrames = () => {
    if (modelSugg) edit((d) => acceptFrames(d, [...suggestedFrames.keys()], modelSugg.primary_frame, schema.frames));
  };
  const acceptStance = (ti: number) => {
    const t = project.targets[ti];
    const s = t && modelSugg?.stance[t.key];
    if (s && draft.stance[t.key] !== s.label) chooseStance(ti, s.label);
  };

  const chooseStance = (ti: number, label: string) => {
    const t = project.targets[ti];
    if (!t) return;
    edit((d) => setStance(d, t.key, d.stance[t.key] === label ? null : label));
    setMissing((m) => {
      const n = new Set(m);
      n.delete(`stance.${t.key}`);
      return n;
    });
  };

  const goNext = async () => {
    try {
      await openNextTask(a.project, () => navigate(`/projects/${a.project}/`));
    } catch (e) {
      setMessage({ kind: "error", text: e instanceof Error ? e.message : String(e) });
    }
  };

  const policy = project.unreviewed_suggestions ?? "ask";
  // Asked once per article: after "submit anyway", a retry (say, after a missing stance) does not ask again.
  const unreviewedOk = useRef(false);
  const submit = async (confirmed = false) => {
    if (busy || readOnly) return;
    if (confirmed) unreviewedOk.current = true;
    if (pending.length && !unreviewedOk.current && policy !== "allow") {
      if (policy === "block") {
        setMessage({ kind: "error", text: `${pending.length} suggestion${pending.length === 1 ? " is" : "s are"} not yet reviewed: accept (a) or reject (x) each before submitting.` });
        const first = order.find((x) => x.suggested);
        if (first) select(itemToSelected(first));
      } else setOverlay("unreviewed");
      return;
    }
    setOverlay(null);
    setBusy(true);
    setMessage(null);
    try {
      await saver.flush();
      await api("POST", `assignments/${a.id}/submit/`, { version: saver.version });
      saver.close();
      await goNext();
    } catch (e) {
      if (e instanceof ApiError && e.code === "incomplete" && e.details && typeof e.details === "object") {
        const keys = Object.keys(e.details as object);
        setMissing(new Set(keys));
        setMessage({ kind: "error", text: `Not yet complete: ${e.message}` });
        const first = project.targets.findIndex((t) => keys.includes(`stance.${t.key}`));
        if (first >= 0) setActiveTarget(first);
      } else if (e instanceof NetworkError) {
        setMessage({ kind: "error", text: "The server cannot be reached; your work is kept here. Try again in a moment." });
      } else if (!(e instanceof ApiError && e.code === "stale_write")) {
        setMessage({ kind: "error", text: e instanceof Error ? e.message : String(e) });
      }
    } finally {
      setBusy(false);
    }
  };

  const reopen = async () => {
    setBusy(true);
    try {
      onReopened?.(await api<AssignmentDoc>("POST", `assignments/${a.id}/reopen/`));
    } catch (e) {
      setMessage({ kind: "error", text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  // ---------------------------------------------------------------- keyboard caret and resizing
  /** Arrows: the caret goes a token right or left; with Shift its far end moves (extend, shrink). */
  const moveKeyboardCaret = (dir: 1 | -1, extend: boolean) => {
    if (!tokens.length) return;
    const u16 = (cp: number) => index.toUtf16(cp);
    let c = caretRef.current;
    const onPage = readSelection(articleRef.current);
    if (onPage) {
      // The selection was changed by the mouse meanwhile: carry on from it.
      const r = c ? caretRange(tokens, c) : null;
      if (!r || r.start !== onPage.start || r.end !== onPage.end) c = caretFor(tokens, onPage);
    } else if (cur) {
      // From the selected span: the token after it (or before it), or the span itself to extend.
      const r = { start: u16(cur.start), end: u16(cur.end) };
      c = extend ? caretFor(tokens, r) : { anchor: tokenAt(tokens, r.start), focus: tokenAt(tokens, r.end - 1) };
    }
    const next = moveCaret(tokens, c, dir, extend, 0);
    if (!next) return;
    caretRef.current = next;
    const r = caretRange(tokens, next);
    if (selectRange(articleRef.current, r.start, r.end)) {
      if (!picking) setSelected(null); // picking a speaker: the quote stays selected
      setHasTextSel(true);
      window.getSelection()?.focusNode?.parentElement?.scrollIntoView({ block: "nearest" });
    }
  };

  /** Enter while picking a speaker: the words under the keyboard caret are the mention. */
  const pickSpeakerFromCaret = () => {
    const raw = readSelection(articleRef.current);
    if (!raw || selSpan?.label !== "QUOTE") return;
    const r = snapToTokens(text, raw);
    if (isBlank(text, r)) return;
    const m = { start: index.toCodePoint(r.start, "floor"), end: index.toCodePoint(r.end, "ceil") };
    const quote = selSpan.key;
    edit((d) => setSpeaker(d, quote, { ...m, text: index.slice(m.start, m.end) }));
    caretRef.current = null;
    window.getSelection()?.removeAllRanges();
    setHasTextSel(false);
    setPicking(false);
  };

  /** [ and ]: the selected span's start or end a token outwards; with Shift inwards. */
  const resizeSelected = (edge: "start" | "end", grow: boolean) => {
    if (!cur) return;
    const r16 = resizeRange(tokens, { start: index.toUtf16(cur.start), end: index.toUtf16(cur.end) }, edge, grow);
    const cp = { start: index.toCodePoint(r16.start, "floor"), end: index.toCodePoint(r16.end, "ceil") };
    if (cp.start === cur.start && cp.end === cur.end) return;
    if (selSugg) {
      const s = selSugg;
      edit((d) => resizeSpan(acceptSuggestion(d, s, undefined, suggestions), `${s.start}:${s.end}:${s.label}`, cp));
    } else if (selSpan) {
      const k = selSpan.key;
      edit((d) => resizeSpan(d, k, cp));
    }
    setSelected({ kind: "span", key: `${cp.start}:${cp.end}:${cur.label}` });
  };

  const setKind = (kind: QuoteKind | null) => {
    if (!cur || cur.label !== "QUOTE") return;
    if (selSugg) {
      const s = selSugg;
      edit((d) => setQuoteKind(acceptSuggestion(d, s, undefined, suggestions), `${s.start}:${s.end}:${s.label}`, kind));
      setSelected({ kind: "span", key: `${s.start}:${s.end}:${s.label}` });
    } else if (selSpan) {
      const k = selSpan.key;
      edit((d) => setQuoteKind(d, k, kind));
    }
  };

  const skip = async (reason: string) => {
    if (!reason.trim()) return;
    setBusy(true);
    try {
      await saver.flush().catch(() => undefined);
      await api("POST", `assignments/${a.id}/skip/`, { reason });
      saver.close();
      setOverlay(null);
      await goNext();
    } catch (e) {
      setMessage({ kind: "error", text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  // ---------------------------------------------------------------- mouse on the article
  const onArticleMouseUp = (e: MouseEvent) => {
    const sel = window.getSelection();
    if (sel && !sel.isCollapsed) {
      setHasTextSel(!!readSelection(articleRef.current));
      return;
    }
    setHasTextSel(false);
    const seg = (e.target as HTMLElement).closest<HTMLElement>("[data-u]");
    const segment = seg ? segmentAt.get(Number(seg.dataset.u)) ?? null : null;
    const covering = segment ? segment.cover.map((i) => layout.placed[i]) : [];
    if (picking && (selSpan?.label === "QUOTE")) {
      const quote = selSpan;
      const mention = [...covering].reverse().find((p) => p.label !== "QUOTE");
      let m: { start: number; end: number; text: string } | null = null;
      if (mention) m = { start: mention.start, end: mention.end, text: index.slice(mention.start, mention.end) };
      else if (seg && segment) {
        // No span there: take the word that was clicked.
        const u = Number(seg.dataset.u) + (sel?.focusOffset ?? 0);
        const r = snapToTokens(text, { start: u, end: u + 1 });
        if (!isBlank(text, r)) {
          const s = index.toCodePoint(r.start);
          const en = index.toCodePoint(r.end, "ceil");
          m = { start: s, end: en, text: index.slice(s, en) };
        }
      }
      if (m) {
        const mm = m;
        edit((d) => setSpeaker(d, quote.key, mm));
        setPicking(false);
      }
      return;
    }
    if (!covering.length) {
      setSelected(null);
      return;
    }
    // Innermost first; clicking again on the same place walks outwards through nested spans.
    const inner = [...covering].reverse();
    const cur = idOf(selected);
    const at = inner.findIndex((p) => p.id === cur);
    const pick = inner[(at + 1) % inner.length];
    setSelected(itemToSelected(pick));
    setPicking(false);
  };

  // ---------------------------------------------------------------- keyboard
  const keyHandler = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keyHandler.current = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    const typing = t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement && t.type === "text");
    const mod = e.ctrlKey || e.metaKey;
    if (e.key === "Escape") {
      if (overlay) setOverlay(null);
      else if (picking) setPicking(false);
      else if (typing || (ownKeys(t) && !t.closest("[role=dialog]"))) t.blur(); // back to the screen's keys
      else if (guidelines) setGuidelines(false);
      else {
        setSelected(null);
        window.getSelection()?.removeAllRanges();
        setHasTextSel(false);
      }
      return;
    }
    if (overlay === "skip" || overlay === "unreviewed") return; // the dialog handles its own keys
    if (typing) return; // let text fields keep their keys (and their own undo)
    const control = ownKeys(t);
    if (mod && (e.key === "z" || e.key === "Z")) {
      e.preventDefault();
      setHist((h) => (e.shiftKey ? redo(h) : undo(h)));
      return;
    }
    if (mod && e.key === "y") {
      e.preventDefault();
      setHist((h) => redo(h));
      return;
    }
    if ((e.key === "ArrowRight" || e.key === "ArrowLeft") && !e.altKey && !overlay
        && !(control && !(control instanceof HTMLButtonElement) && !(control instanceof HTMLAnchorElement))) {
      // Ctrl+arrows too (the desktop habit for "by word"): the caret always moves a token.
      moveKeyboardCaret(e.key === "ArrowRight" ? 1 : -1, e.shiftKey);
      e.preventDefault();
      return;
    }
    if (mod) return; // leave the browser's own shortcuts alone (copy, find, …)
    if (e.key === "?") {
      e.preventDefault();
      setOverlay(overlay === "help" ? null : "help");
      return;
    }
    if (overlay === "help") return;
    if (e.key === "Enter") {
      // Never a submit from inside a form control: Enter there is the control's (a checkbox
      // toggles, a button presses itself), and an accidental submit cannot be taken back.
      if (control) {
        if (control instanceof HTMLInputElement && control.type === "checkbox" && !control.disabled) {
          e.preventDefault();
          control.click();
        }
        return;
      }
      e.preventDefault();
      if (picking) pickSpeakerFromCaret();
      else void submit();
      return;
    }
    if (readOnly) return;
    if (control instanceof HTMLSelectElement) return; // its letters pick an option
    if ((e.code === "BracketLeft" || e.code === "BracketRight") && !e.altKey) {
      resizeSelected(e.code === "BracketLeft" ? "start" : "end", !e.shiftKey);
      e.preventDefault();
      return;
    }
    const code = e.code.startsWith("Key") ? e.code.slice(3).toLowerCase() : "";
    const key = e.key.length === 1 ? e.key.toLowerCase() : "";
    const letter = code || key;
    if (isAcceptKey(e) && modelSugg) {
      e.preventDefault();
      acceptStance(activeTarget);
      return;
    }
    if (isAcceptFramesKey(e) && modelSugg) {
      e.preventDefault();
      acceptSuggestedFrames();
      return;
    }
    if (/^[1-9]$/.test(e.key) || /^Digit[1-9]$/.test(e.code)) {
      const n = Number(e.code.startsWith("Digit") ? e.code.slice(5) : e.key);
      const label = schema.stance_labels[n - 1];
      if (label) {
        e.preventDefault();
        chooseStance(activeTarget, label);
        // Move on to the next target still without a stance: a whole article in a few keys.
        const next = project.targets.findIndex((tg, i) => i > activeTarget && !draft.stance[tg.key]);
        if (next >= 0) setActiveTarget(next);
      }
      return;
    }
    if (e.shiftKey && letter === "a") {
      const label = selSugg?.label ?? selSpan?.label;
      if (label) acceptAll(label);
      e.preventDefault();
      return;
    }
    if (e.shiftKey && letter === "q") {
      if (cur?.label === "QUOTE") setKind(nextQuoteKind(quoteKindOf(cur.attrs)));
      e.preventDefault();
      return;
    }
    if (e.shiftKey && letter === "g") {
      setGuidelines((g) => !g);
      e.preventDefault();
      return;
    }
    if (e.shiftKey && letter === "f") {
      (document.querySelector(".frames input") as HTMLElement | null)?.focus();
      e.preventDefault();
      return;
    }
    if (e.shiftKey && letter === "n") {
      (document.querySelector("#notes") as HTMLElement | null)?.focus();
      e.preventDefault();
      return;
    }
    if (e.shiftKey && letter === "t") {
      setActiveTarget((i) => (i - 1 + project.targets.length) % Math.max(1, project.targets.length));
      e.preventDefault();
      return;
    }
    if (e.shiftKey && (letter === "j" || letter === "k")) {
      step(letter === "j" ? 1 : -1, true);
      e.preventDefault();
      return;
    }
    switch (letter) {
      case "j":
        step(1);
        break;
      case "k":
        step(-1);
        break;
      case "a":
        acceptSelected();
        break;
      case "x":
        rejectSelected();
        break;
      case "s":
        setOverlay("skip");
        break;
      case "t":
        setActiveTarget((i) => (i + 1) % Math.max(1, project.targets.length));
        break;
      case "m":
        if (selSpan?.label === "QUOTE") setPicking(true);
        break;
      default: {
        if (e.key === "Delete" || e.key === "Backspace") {
          rejectSelected();
          break;
        }
        const label = letter ? keyToLabel.get(letter) : undefined;
        if (!label) return;
        applyLabel(label, e.altKey);
      }
    }
    e.preventDefault();
  };
  useEffect(() => {
    const on = (e: KeyboardEvent) => keyHandler.current(e);
    const onSel = () => setHasTextSel(!!readSelection(articleRef.current));
    window.addEventListener("keydown", on);
    document.addEventListener("selectionchange", onSel);
    return () => {
      window.removeEventListener("keydown", on);
      document.removeEventListener("selectionchange", onSel);
    };
  }, []);

  useEffect(() => {
    document.title = `${a.article.title || "Article"} · Standpoint`;
    // After the first paint with handlers attached (a task after the next frame).
    requestAnimationFrame(() => setTimeout(() => performance.mark("sp:interactive")));
  }, [a]);

  // ---------------------------------------------------------------- render
  const counts = useMemo(() => {
    const m = new Map<string, { confirmed: number; pending: number }>();
    for (const l of schema.span_labels) m.set(l, { confirmed: 0, pending: 0 });
    for (const s of draft.spans) m.get(s.label) && m.get(s.label)!.confirmed++;
    for (const s of pending) m.get(s.label) && m.get(s.label)!.pending++;
    return m;
  }, [draft.spans, pending, schema]);
  // The legend shows what this article uses plus the everyday labels; the rest wait behind "more"
  // (their keys work all the same), so twenty labels never crowd the text.
  const [allLabels, setAllLabels] = useState(false);
  const everyday = ["PERSON", "ORG", "GPE", "QUOTE", "SPEAKER"];
  const usedLabels = schema.span_labels.filter((l) => {
    const c = counts.get(l)!;
    return allLabels || c.confirmed + c.pending > 0 || everyday.includes(l);
  });
  const hiddenLabels = schema.span_labels.length - usedLabels.length;

  const conflict = saveState.kind === "conflict" ? saveState.current : null;
  // Spans whose label a codebook change took out of the project: autosave would be refused
  // until each is relabelled or removed, so say so and offer both.
  const staleSpans = draft.spans.filter((sp) => !schema.span_labels.includes(sp.label));

  // A 409 may mean the codebook changed under this screen (the change bumps the annotation's
  // version): then reload, so the labels offered are the project's; the draft is kept locally.
  useEffect(() => {
    if (saveState.kind !== "conflict") return;
    api<Project>("GET", `projects/${project.id}/`).then((p) => {
      if (p.label_schema.version !== schema.version) {
        setMessage({ kind: "info", text: "This project's labels changed; reloading with the new codebook…" });
        window.setTimeout(() => window.location.reload(), 800);
      }
    }, () => undefined);
  }, [saveState.kind]);

  return (
    <div class={`annotate${picking ? " picking" : ""}`}>
      <Header
        right={
          <>
            <StatusPill s={saveState} />
            <button class="btn-link" onClick={() => setGuidelines((g) => !g)} aria-expanded={guidelines}>Guidelines</button>
            <button class="btn-link" onClick={() => setOverlay("help")} title="Keyboard shortcuts (?)">Shortcuts <kbd>?</kbd></button>
          </>
        }
      >
        <a href={`/projects/${project.id}/`} onClick={(e) => { e.preventDefault(); navigate(`/projects/${project.id}/`); }}>{project.name}</a>
        <span class="crumb-sep">/</span>
        <span>{a.article.title || a.article.external_id || `Article ${a.article.id}`}</span>
      </Header>

      <div class="workspace">
        <section class="reader" aria-label="Article">
          <div class="legend" aria-label="Span labels">
            {usedLabels.map((l) => {
              const c = counts.get(l)!;
              const k = labelKeys.get(l);
              return (
                <span class="legend-item" key={l}>
                  <button
                    class="chip" style={{ "--c": colors.get(l) }}
                    onMouseDown={(e) => e.preventDefault()}
                    onClick={() => applyLabel(l, false)}
                    title={hasTextSel ? `Label the selection ${l}` : cur ? `Relabel as ${l}` : `Select text, then press ${k ?? "this"}`}
                  >
                    <span class="swatch" />{l}{k && <kbd>{k}</kbd>}
                    {c.confirmed > 0 && <span class="n">{c.confirmed}</span>}
                  </button>
                  {c.pending > 0 && (
                    <button class="chip-accept" onMouseDown={(e) => e.preventDefault()} onClick={() => acceptAll(l)}
                      title={`Accept all ${c.pending} suggested ${l} spans`}>
                      ✓ all {c.pending}
                    </button>
                  )}
                </span>
              );
            })}
            {(hiddenLabels > 0 || allLabels) && (
              <button class="btn-link small" onMouseDown={(e) => e.preventDefault()} onClick={() => setAllLabels((v) => !v)}>
                {allLabels ? "fewer labels" : `+${hiddenLabels} more`}
              </button>
            )}
            <span class="legend-key"><span class="k-solid" /> confirmed <span class="k-dash" /> suggested</span>
          </div>
          {readOnly && (
            <p class="banner banner-info">
              This assignment is {a.status}; it is shown read-only.{" "}
              {a.status === "submitted" && onReopened && (
                <button class="btn btn-small" onClick={reopen} disabled={busy}>Reopen to correct it</button>
              )}
            </p>
          )}
          {picking && (
            <p class="banner banner-info banner-sticky" role="status">
              Click the speaker's mention in the text, or move to it with <kbd>→</kbd>/<kbd>←</kbd> (<kbd>⇧</kbd> to
              extend) and press <kbd>Enter</kbd> · <kbd>Esc</kbd> cancels
            </p>
          )}
          {message && <p class={`banner banner-${message.kind}`} role="alert">{message.text}</p>}
          <article class="paper">
            <header class="article-head">
              <div class="title-row">
                <h1 class="article-title">{a.article.title || "Untitled article"}</h1>
                {a.article.external_id && <span class="ext-id" title="External id">{a.article.external_id}</span>}
              </div>
              <p class="article-meta">
                {a.article.source && <span>{a.article.source}</span>}
                {a.article.published && <span>{fmtDate(a.article.published)}</span>}
                {safeHref(a.article.url) && <a href={safeHref(a.article.url)!} target="_blank" rel="noopener noreferrer">original</a>}
              </p>
            </header>
            {/* Focusable so the keyboard caret has a place to start from (arrows, Shift+arrows). */}
            <div ref={articleRef} class="article-body" onMouseUp={onArticleMouseUp} data-testid="article-text"
              tabIndex={0} role="region" aria-label="Article text: arrows move a word at a time, Shift+arrows extend, a label key marks">
              <ArticleText
                text={text} layout={layout} colors={colors} selectedId={idOf(selected)}
                speakers={speakers} speakerSpan={speakerSpan} describe={describe}
              />
            </div>
          </article>
        </section>

        {/* Focusable: it scrolls, and read-only it holds no enabled control to scroll it by keyboard. */}
        <aside class="sidebar" aria-label="Annotation" tabIndex={0}>
          <p class="sr-only" aria-live="polite">
            {cur ? `${describe.get(idOf(selected)!) ?? cur.label}: ${index.slice(cur.start, cur.end).slice(0, 120)}` : ""}
          </p>
          {staleSpans.length > 0 && !readOnly && (
            <section class="card stale-card" role="alert" aria-label="Spans with a removed label">
              <h2>Labels no longer in this project</h2>
              <p class="small">These spans cannot be saved until you relabel or remove them:</p>
              <ul>
                {staleSpans.map((sp) => (
                  <li key={sp.key} data-stale-label={sp.label}>
                    <q>{index.slice(sp.start, sp.end)}</q> is labelled <code>{sp.label}</code>{" "}
                    <select aria-label={`Relabel ${sp.label} span`} value="" onChange={(e) => {
                      const l = (e.target as HTMLSelectElement).value;
                      if (l) edit((d) => relabelSpan(d, sp.key, l));
                    }}>
                      <option value="">relabel as…</option>
                      {schema.span_labels.map((l) => <option key={l} value={l}>{l}</option>)}
                    </select>{" "}
                    <button class="btn btn-small" onClick={() => edit((d) => removeSpan(d, sp.key))}>Remove</button>
                  </li>
                ))}
              </ul>
            </section>
          )}
          <section class={`card selection-card${cur ? "" : " is-empty"}`} aria-label="Selected span">
            {cur ? (
              <>
                <div class="sel-head">
                  <span class="chip static" style={{ "--c": colors.get(cur.label) }}><span class="swatch" />{cur.label}</span>
                  <span class={`badge ${selSugg ? "badge-sugg" : "badge-ok"}`}>{selSugg ? `suggested · ${selSugg.origin}` : "confirmed"}</span>
                </div>
                <blockquote class="sel-text">{index.slice(cur.start, cur.end)}</blockquote>
                {cur.label === "QUOTE" && (
                  <p class="kind-line">
                    <label>
                      Kind{" "}
                      <select value={quoteKindOf(cur.attrs) ?? ""} disabled={readOnly} data-testid="quote-kind"
                        onChange={(e) => setKind(((e.target as HTMLSelectElement).value || null) as QuoteKind | null)}>
                        <option value="">not set</option>
                        {QUOTE_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
                      </select>
                    </label>{" "}
                    <kbd>⇧Q</kbd>
                  </p>
                )}
                {cur.label === "QUOTE" && (
                  <p class="speaker-line">
                    Speaker: <b>{(cur.attrs?.speaker as string) || "unknown"}</b>
                    {selSpan && <button class="btn btn-small" onClick={() => setPicking(true)}>Change <kbd>m</kbd></button>}
                    {selSugg && <span class="muted"> (accept to edit)</span>}
                  </p>
                )}
                <div class="sel-actions">
                  {selSugg && <button class="btn btn-primary btn-small" onClick={() => acceptSelected()}>Accept <kbd>a</kbd></button>}
                  <button class="btn btn-small" onClick={rejectSelected}>{selSugg ? "Reject" : "Remove"} <kbd>x</kbd></button>
                  <label class="relabel">
                    <span class="sr-only">Relabel</span>
                    <select value={cur.label} onChange={(e) => {
                      const l = (e.target as HTMLSelectElement).value;
                      if (selSugg) acceptSelected(l);
                      else if (selSpan) {
                        edit((d) => relabelSpan(d, selSpan.key, l));
                        setSelected({ kind: "span", key: `${selSpan.start}:${selSpan.end}:${l}` });
                      }
                    }}>
                      {schema.span_labels.map((l) => <option key={l} value={l}>{l}</option>)}
                    </select>
                  </label>
                </div>
              </>
            ) : (
              <p class="hint">
                {hasTextSel
                  ? "Press a label key to mark the selection (hold Alt for exact boundaries)."
                  : <>Select text and press a label key, or press <kbd>j</kbd>/<kbd>k</kbd> to step through spans. {pending.length} suggestion{pending.length === 1 ? "" : "s"} to review.</>}
              </p>
            )}
          </section>

          <section class="card" aria-label="Stance">
            <h2>Stance <span class="muted small">keys 1–{schema.stance_labels.length} · <kbd>t</kbd> next target</span></h2>
            {project.targets.length === 0 && <p class="muted">This project has no stance targets.</p>}
            {project.targets.map((tg, ti) => (
              <fieldset key={tg.key} class={`target${ti === activeTarget ? " active" : ""}${missing.has(`stance.${tg.key}`) ? " missing" : ""}`}
                onClick={() => setActiveTarget(ti)}>
                <legend title={tg.description}>{tg.name}</legend>
                <div class="seg-radio" role="radiogroup" aria-label={`Stance toward ${tg.name}`}
                  style={{ gridTemplateColumns: `repeat(${Math.min(4, schema.stance_labels.length)}, minmax(0, 1fr))` }}>
                  {schema.stance_labels.map((l, li) => (
                    <label key={l} class={draft.stance[tg.key] === l ? "on" : ""}>
                      <input type="radio" name={`stance-${tg.key}`} value={l} checked={draft.stance[tg.key] === l}
                        disabled={readOnly} onChange={() => chooseStance(ti, l)} />
                      <span class="num">{li + 1}</span>{l.toLowerCase()}
                    </label>
                  ))}
                </div>
                <SuggestedStance s={modelSugg?.stance[tg.key]} chosen={draft.stance[tg.key]} active={ti === activeTarget}
                  disabled={readOnly} onAccept={() => acceptStance(ti)} />
              </fieldset>
            ))}
          </section>

          <section class={`card frames${missing.has("frames") || missing.has("primary_frame") ? " missing" : ""}`} aria-label="Frames">
            <h2>Frames <span class="muted small">★ = primary · <kbd>⇧F</kbd></span></h2>
            {suggestedFrames.size > 0 && !readOnly && (
              <p class={`stance-suggestion frames-suggestion${framesLeft ? "" : " taken"}`}>
                <span class="sugg-tag">suggested</span>
                <span class="sugg-label">{suggestedFrames.size} {suggestedFrames.size === 1 ? "frame" : "frames"}</span>
                {framesLeft && (
                  <button type="button" class="sugg-accept" data-testid="accept-frames" onClick={acceptSuggestedFrames}>
                    accept<kbd>⇧0</kbd>
                  </button>
                )}
              </p>
            )}
            <ul>
              {schema.frames.map((f) => {
                const on = draft.frames.includes(f);
                const primary = draft.primary_frame === f;
                return (
                  <li key={f} class={on ? "on" : ""}>
                    <label>
                      <input type="checkbox" checked={on} disabled={readOnly}
                        onChange={() => edit((d) => toggleFrame(d, f, schema.frames))} />
                      {f}
                      <SuggestedFrame s={suggestedFrames.get(f)} primary={modelSugg?.primary_frame === f} chosen={on} />
                    </label>
                    <button class={`star${primary ? " is-primary" : ""}`} disabled={readOnly}
                      aria-pressed={primary} aria-label={`Make ${f} the primary frame`}
                      onClick={() => edit((d) => setPrimaryFrame(d, f, schema.frames))}>
                      {primary ? "★" : "☆"}
                    </button>
                  </li>
                );
              })}
            </ul>
          </section>

          <section class="card" aria-label="Notes">
            <h2><label for="notes">Notes</label> <span class="muted small"><kbd>⇧N</kbd></span></h2>
            <textarea id="notes" rows={3} value={draft.notes} disabled={readOnly} placeholder="Anything a reviewer should know"
              onInput={(e) => edit((d) => setNotes(d, (e.target as HTMLTextAreaElement).value), "notes")} />
          </section>

          <div class="actions">
            <button class="btn" onClick={() => setOverlay("skip")} disabled={busy || readOnly}>Skip <kbd>s</kbd></button>
            <button class="btn btn-primary" onClick={() => submit()} disabled={busy || readOnly}>Submit &amp; next <kbd>Enter</kbd></button>
          </div>
          <p class="undo-line muted small">
            <button class="btn-link" disabled={!hist.past.length} onClick={() => setHist(undo)}>Undo</button> <kbd>Ctrl Z</kbd>
            {" · "}
            <button class="btn-link" disabled={!hist.future.length} onClick={() => setHist(redo)}>Redo</button> <kbd>Ctrl ⇧ Z</kbd>
          </p>
        </aside>

        {guidelines && (
          <aside class="drawer" aria-label="Guidelines">
            <div class="drawer-head"><h2>Guidelines</h2><button class="btn-link" onClick={() => setGuidelines(false)}>Close <kbd>Esc</kbd></button></div>
            {project.guidelines_html
              ? <div class="prose" dangerouslySetInnerHTML={{ __html: project.guidelines_html }} />
              : <p class="muted">This project has no guidelines yet.</p>}
          </aside>
        )}
      </div>

      {overlay === "help" && <HelpOverlay labelKeys={labelKeys} stance={schema.stance_labels} onClose={() => setOverlay(null)} />}
      {overlay === "skip" && <SkipDialog busy={busy} onCancel={() => setOverlay(null)} onSkip={skip} />}
      {overlay === "unreviewed" && (
        <UnreviewedDialog count={pending.length} busy={busy} onSubmit={() => submit(true)}
          onReview={() => {
            setOverlay(null);
            const first = order.find((x) => x.suggested);
            if (first) select(itemToSelected(first));
          }} />
      )}
      {conflict && (
        <ConflictDialog
          server={conflict} mine={mine ?? draft} targets={project.targets.map((t) => t.key)}
          onTheirs={() => {
            const d = saver.takeTheirs(conflict);
            setMine(null);
            setHist((h) => record(h, d));
          }}
          onMine={() => {
            saver.keepMine(conflict);
            if (mine) setHist((h) => record(h, mine));
            setMine(null);
          }}
        />
      )}
    </div>
  );
}

function HelpOverlay({ labelKeys, stance, onClose }: { labelKeys: Map<string, string>; stance: string[]; onClose: () => void }) {
  const rows: Array<[string, string]> = [
    ["select text + letter", "add a span with that label (snaps to whole words)"],
    ["Alt + letter", "add a span with the exact selection"],
    ["click a span", "select it (click again for the span around it)"],
    ["j / k", "next / previous span"],
    ["⇧J / ⇧K", "next / previous suggestion"],
    ["→ / ←", "caret to the next / previous word of the article (Ctrl too)"],
    ["⇧→ / ⇧←", "extend / shrink the caret a word; then a letter adds the span"],
    ["[ / ]", "move the selected span's start left / end right a word"],
    ["⇧[ / ⇧]", "move its start right / end left a word (shrink)"],
    ["a", "accept the selected suggestion (a quote: its speaker too)"],
    ["x, Delete", "reject the suggestion / remove the span"],
    ["letter (span selected)", "relabel it"],
    ["⇧A", "accept all suggestions with the selected label"],
    ["m, then click", "change the selected quote's speaker (or m, arrows to the mention, Enter)"],
    ["⇧Q", "the selected quote's kind: direct → partial → scare"],
    [`1–${stance.length}`, `stance for the active target (${stance.map((s, i) => `${i + 1} ${s}`).join(", ")})`],
    ["0", "accept the model's suggested stance for the active target (shown dashed, when the project has a model)"],
    ["⇧0", "accept the model's suggested frames and primary frame (your own choices stay)"],
    ["t / ⇧T", "next / previous target"],
    ["⇧F", "go to frames (Space toggles)"],
    ["⇧N", "write a note"],
    ["⇧G", "show / hide the guidelines"],
    ["Enter", "submit and open the next article (not while a form control has focus)"],
    ["s", "skip this article (asks for a reason)"],
    ["Ctrl Z / Ctrl ⇧ Z", "undo / redo"],
    ["Esc", "clear the selection, close a panel, leave a text field or control"],
    ["?", "this help"],
  ];
  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onClick={onClose}>
      <div class="dialog help" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        <div class="help-cols" tabIndex={0}>
          <dl>{rows.map(([k, v]) => <div key={k}><dt><kbd>{k}</kbd></dt><dd>{v}</dd></div>)}</dl>
          <div>
            <h3>Label keys</h3>
            <ul class="label-keys">{[...labelKeys].map(([l, k]) => <li key={l}><kbd>{k}</kbd> {l}</li>)}</ul>
          </div>
        </div>
        <button class="btn" onClick={onClose}>Close <kbd>Esc</kbd></button>
      </div>
    </div>
  );
}

function UnreviewedDialog({ count, busy, onSubmit, onReview }: {
  count: number; busy: boolean; onSubmit: () => void; onReview: () => void;
}) {
  const submitRef = useRef<HTMLButtonElement>(null);
  // Before the first paint: an Enter pressed as soon as the dialog shows must reach its button.
  useLayoutEffect(() => submitRef.current?.focus(), []);
  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="unreviewed-title" aria-describedby="unreviewed-text">
      <div class="dialog">
        <h2 id="unreviewed-title">Submit with {count} suggestion{count === 1 ? "" : "s"} not reviewed?</h2>
        <p id="unreviewed-text" class="muted">
          Suggestions you neither accepted nor rejected are not part of your annotation.
        </p>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onReview}>Review them <kbd>Esc</kbd></button>
          <button type="button" class="btn btn-primary" ref={submitRef} disabled={busy} onClick={onSubmit}>
            Submit anyway <kbd>Enter</kbd>
          </button>
        </div>
      </div>
    </div>
  );
}

function SkipDialog({ busy, onCancel, onSkip }: { busy: boolean; onCancel: () => void; onSkip: (r: string) => void }) {
  const [reason, setReason] = useState(SKIP_REASONS[0]);
  const [other, setOther] = useState("");
  const final = reason === "other" ? other : reason;
  const onKey = (e: KeyboardEvent) => {
    const n = Number(e.key);
    if (!(e.target instanceof HTMLInputElement && e.target.type === "text") && n >= 1 && n <= SKIP_REASONS.length + 1) {
      setReason(n <= SKIP_REASONS.length ? SKIP_REASONS[n - 1] : "other");
      e.preventDefault();
    }
    if (e.key === "Enter" && final.trim()) {
      e.preventDefault();
      onSkip(final);
    }
  };
  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-label="Skip this article" onKeyDown={onKey}>
      <form class="dialog" onSubmit={(e) => { e.preventDefault(); onSkip(final); }}>
        <h2>Skip this article?</h2>
        <p class="muted">It goes to someone else and will not come back to you.</p>
        {SKIP_REASONS.map((r, i) => (
          <label class="radio-row" key={r}>
            <input type="radio" name="reason" checked={reason === r} onChange={() => setReason(r)} autoFocus={i === 0} />
            <kbd>{i + 1}</kbd> {r}
          </label>
        ))}
        <label class="radio-row">
          <input type="radio" name="reason" checked={reason === "other"} onChange={() => setReason("other")} />
          <kbd>{SKIP_REASONS.length + 1}</kbd> Other:
          <input type="text" value={other} onInput={(e) => { setOther((e.target as HTMLInputElement).value); setReason("other"); }} />
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onCancel}>Cancel <kbd>Esc</kbd></button>
          <button type="submit" class="btn btn-primary" disabled={busy || !final.trim()}>Skip <kbd>Enter</kbd></button>
        </div>
      </form>
    </div>
  );
}

function summary(d: Draft, targets: string[]) {
  return [
    ["Stance", targets.map((t) => `${t}: ${d.stance[t] ?? "—"}`).join(", ") || "—"],
    ["Frames", d.frames.map((f) => (f === d.primary_frame ? `${f} ★` : f)).join(", ") || "—"],
    ["Spans", `${d.spans.length} confirmed, ${d.rejected.length} rejected suggestions`],
    ["Notes", d.notes || "—"],
  ] as const;
}

function ConflictDialog({ server, mine, targets, onTheirs, onMine }: {
  server: AnnotationDoc; mine: Draft; targets: string[]; onTheirs: () => void; onMine: () => void;
}) {
  const theirs = summary(draftFromDoc(server), targets);
  const ours = summary(mine, targets);
  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-label="Conflicting versions">
      <div class="dialog conflict">
        <h2>This annotation was changed elsewhere</h2>
        <p class="muted">
          The server has version {server.version}{server.updated_at ? ` (saved ${new Date(server.updated_at).toLocaleString()})` : ""},
          probably from another tab. Nothing has been overwritten. Which version do you want to keep?
        </p>
        <table class="diff">
          <thead><tr><th /><th>On the server</th><th>In this tab</th></tr></thead>
          <tbody>
            {theirs.map(([k, v], i) => (
              <tr key={k} class={v !== ours[i][1] ? "differs" : ""}><th>{k}</th><td>{v}</td><td>{ours[i][1]}</td></tr>
            ))}
          </tbody>
        </table>
        <div class="dialog-actions">
          <button class="btn" onClick={onTheirs}>Use the server's version</button>
          <button class="btn btn-primary" onClick={onMine}>Keep mine</button>
        </div>
      </div>
    </div>
  );
}
