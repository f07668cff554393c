/**
 * The article text with its spans. Text is only ever rendered as text nodes (never as HTML), so
 * `<script>` or `<img onerror>` in an article shows those characters and runs nothing.
 *
 * Every segment carries `data-u` (its UTF-16 start) so a DOM Selection maps back to text offsets.
 * Spans draw as bars under the text, one lane per nesting level; confirmed spans are solid with a
 * soft tint, suggestions dashed without a tint, so the two never look alike.
 */
import { memo } from "preact/compat";
import type { Layout, Placed } from "./layout";
import { tint } from "./labels";

/** Lanes drawn; deeper nesting reuses the last one (legible, and rare in news text). */
export const MAX_LANES = 3;
const LANE_PX = 4;
export const PAD_PX = MAX_LANES * LANE_PX + 1;

export interface ArticleProps {
  text: string;
  layout: Layout;
  colors: Map<string, string>;
  selectedId: string | null;
  /** Quote span id -> speaker shown after it. */
  speakers: Map<string, string>;
  /** The span highlighted as the selected quote's speaker. */
  speakerSpan: { start: number; end: number } | null;
  /** Span id -> what a screen reader says about it (label, state, kind, speaker). */
  describe?: Map<string, string>;
}

/** The id of a span's hidden description: stable across edits (from the span's identity, not
 * its position in a list), so adding a span re-renders only the segments it covers. */
export const descId = (spanId: string) => `spd-${spanId.replace(/[^\w-]/g, "_")}`;

function segStyle(cover: number[], placed: Placed[], colors: Map<string, string>, selectedId: string | null) {
  const layers: string[] = [];
  let tintLayer = "";
  for (const i of cover) {
    const p = placed[i];
    const c = colors.get(p.label) ?? "#888";
    const lane = Math.min(p.lane, MAX_LANES - 1);
    const offset = PAD_PX - LANE_PX - lane * LANE_PX;
    const selected = p.id === selectedId;
    const h = selected ? 4 : 3;
    const img = p.suggested
      ? `repeating-linear-gradient(90deg,${c} 0 5px,transparent 5px 8px)`
      : `linear-gradient(${c},${c})`;
    layers.push(`${img} 0 calc(100% - ${offset}px)/100% ${p.suggested && !selected ? 2 : h}px no-repeat`);
    if (!p.suggested || selected) tintLayer = `linear-gradient(${tint(c, selected ? 0.32 : 0.14)},${tint(c, selected ? 0.32 : 0.14)}) 0 0/100% calc(100% - ${PAD_PX}px) no-repeat`;
  }
  if (tintLayer) layers.push(tintLayer);
  return classFor(`background:${layers.join(",")}`);
}

/** css text -> class name. Segments share a handful of looks (label x lane x kind), so each look
 * becomes one generated rule instead of an inline style that the browser parses per element:
 * that parsing was most of the time to open a long article. */
export const lookClasses = new Map<string, string>();
let sheet: CSSStyleSheet | null = null;

/** The sheet the generated rules go into: a constructed stylesheet adopted by the document,
 * which the Content-Security-Policy (style-src 'self', no inline styles) allows, unlike a
 * <style> element written by script. A <style> element only where constructed sheets are missing. */
function looksSheet(): CSSStyleSheet | null {
  if (typeof CSSStyleSheet === "function" && "adoptedStyleSheets" in document) {
    try {
      const constructed = new CSSStyleSheet();
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, constructed];
      return constructed;
    } catch {
      // an older engine without constructable stylesheets: fall through
    }
  }
  const el = document.createElement("style");
  el.dataset.standpoint = "looks";
  document.head.append(el);
  return el.sheet;
}

function classFor(css: string): string {
  let name = lookClasses.get(css);
  if (!name) {
    name = `hx${lookClasses.size}`;
    lookClasses.set(css, name);
    if (!sheet) sheet = looksSheet();
    sheet?.insertRule(`.article-text .${name}{${css}}`, sheet.cssRules.length);
  }
  return name;
}

interface SegProps {
  u: number;
  chunk: string;
  cls?: string;
  title?: string;
  describedBy?: string;
}

/** One stretch of text. Memoised and keyed by its offset: adding a span re-renders only the
 * segments it touches, not the thousand after it (the 50 ms repaint bar). Text under a span is a
 * <mark> described by its spans' descriptions, so a screen reader says "highlighted" and which
 * label, not only the mouse's tooltip. */
const Seg = memo(function Seg({ u, chunk, cls, title, describedBy }: SegProps) {
  if (describedBy) return <mark data-u={u} class={cls} title={title} aria-describedby={describedBy}>{chunk}</mark>;
  return <span data-u={u} class={cls} title={title}>{chunk}</span>;
});

export const ArticleText = memo(function ArticleText(p: ArticleProps) {
  const { text, layout, colors, selectedId, speakers } = p;
  const endsAt = new Map<number, string[]>();
  for (const pl of layout.placed) {
    if (speakers.has(pl.id)) {
      const list = endsAt.get(pl.u16End) ?? [];
      list.push(pl.id);
      endsAt.set(pl.u16End, list);
    }
  }
  const spk = p.speakerSpan;
  // Lines become blocks with content-visibility:auto: the browser lays out and paints only the
  // paragraphs on screen, so a long article opens fast and an edit relayouts one paragraph.
  const paras: preact.JSX.Element[] = [];
  let out: preact.JSX.Element[] = [];
  let paraStart = 0;
  const closePara = (end: number) => {
    const lines = Math.max(1, Math.ceil((end - paraStart) / 80));
    paras.push(
      <div key={paraStart} class="para" style={`contain-intrinsic-size:auto ${(lines * 2.15).toFixed(2)}em`}>{out}</div>,
    );
    out = [];
    paraStart = end;
  };
  for (const s of layout.segments) {
    const chunk = text.slice(s.start, s.end);
    if (!s.cover.length) {
      out.push(<Seg key={s.start} u={s.start} chunk={chunk} />);
    } else {
      const ids = s.cover.map((i) => layout.placed[i]);
      const isSpk = spk && ids.some((x) => x.start === spk.start && x.end === spk.end);
      const sel = ids.some((x) => x.id === selectedId);
      out.push(
        <Seg
          key={s.start}
          u={s.start}
          chunk={chunk}
          cls={`hl ${segStyle(s.cover, layout.placed, colors, selectedId)}${sel ? " hl-sel" : ""}${isSpk ? " hl-speaker" : ""}`}
          title={ids.map((x) => (x.suggested ? `${x.label} (suggested)` : x.label)).join(" · ")}
          describedBy={p.describe ? ids.map((x) => descId(x.id)).join(" ") : undefined}
        />,
      );
    }
    for (const qid of endsAt.get(s.end) ?? []) {
      out.push(
        // Decoration only: the quote's description names its speaker, and a reader would
        // otherwise read the name as if the article said it.
        <span key={`spk-${qid}`} class="speaker-chip" data-at={s.end} contentEditable={false} aria-hidden="true">
          {speakers.get(qid)}
        </span>,
      );
    }
    if (text.charCodeAt(s.end - 1) === 10) closePara(s.end);
  }
  if (out.length || !paras.length) closePara(text.length);
  return (
    <div class="article-text" style={{ "--pad": `${PAD_PX}px` }}>
      {paras}
      {p.describe && (
        <div hidden>
          {layout.placed.map((pl) => <span key={pl.id} id={descId(pl.id)}>{p.describe!.get(pl.id) ?? pl.label}</span>)}
        </div>
      )}
    </div>
  );
});

/** Show a UTF-16 range of the article as the page's text selection (the keyboard caret). */
export function selectRange(root: HTMLElement | null, start: number, end: number): boolean {
  if (!root) return false;
  const segs = [...root.querySelectorAll<HTMLElement>(".article-text [data-u]")];
  const locate = (u: number, isEnd: boolean): [Node, number] | null => {
    for (const el of segs) {
      const s = Number(el.dataset.u);
      const t = el.firstChild as Text | null;
      const len = t ? t.length : 0;
      if (t && (isEnd ? u > s && u <= s + len : u >= s && u < s + len)) return [t, u - s];
    }
    return null;
  };
  const a = locate(start, false);
  const b = locate(end, true);
  const sel = window.getSelection();
  if (!a || !b || !sel) return false;
  sel.setBaseAndExtent(a[0], a[1], b[0], b[1]);
  return true;
}

/** The UTF-16 offset of a DOM point inside the article, or null when it is outside the text. */
export function pointToU16(root: HTMLElement, node: Node, offset: number): number | null {
  if (!root.contains(node)) return null;
  if (node.nodeType === Node.TEXT_NODE) {
    const el = node.parentElement;
    if (!el) return null;
    if (el.dataset.u !== undefined) return Number(el.dataset.u) + offset;
    const chip = el.closest<HTMLElement>("[data-at]");
    return chip ? Number(chip.dataset.at) : null;
  }
  const el = node as HTMLElement;
  if (el.dataset?.u !== undefined) return Number(el.dataset.u) + (offset > 0 ? (el.textContent ?? "").length : 0);
  if (el.dataset?.at !== undefined) return Number(el.dataset.at);
  // A container (the text or a paragraph): the point is before child `offset`.
  const kids = el.childNodes;
  for (let i = offset; i < kids.length; i++) {
    const k = kids[i] as HTMLElement;
    if (k.dataset?.u !== undefined) return Number(k.dataset.u);
    if (k.dataset?.at !== undefined) return Number(k.dataset.at);
    const first = k.querySelector?.<HTMLElement>("[data-u]");
    if (first) return Number(first.dataset.u);
  }
  for (let i = Math.min(offset, kids.length) - 1; i >= 0; i--) {
    const k = kids[i] as HTMLElement;
    const segs = k.dataset?.u !== undefined ? [k] : [...(k.querySelectorAll?.<HTMLElement>("[data-u]") ?? [])];
    const last = segs[segs.length - 1];
    if (last) return Number(last.dataset.u) + (last.textContent ?? "").length;
  }
  return null;
}

/** The current selection inside the article as a UTF-16 range, or null. */
export function readSelection(root: HTMLElement | null): { start: number; end: number } | null {
  const sel = window.getSelection();
  if (!root || !sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const r = sel.getRangeAt(0);
  const a = pointToU16(root, r.startContainer, r.startOffset);
  const b = pointToU16(root, r.endContainer, r.endOffset);
  if (a === null || b === null || a === b) return null;
  return { start: Math.min(a, b), end: Math.max(a, b) };
}
