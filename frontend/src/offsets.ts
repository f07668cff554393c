/**
 * The one boundary between the browser's UTF-16 indices and the server's code-point offsets.
 *
 * Everything the server stores or sends is a Unicode code point index, end exclusive (Python's
 * `text[start:end]`). The DOM, Selection and String.prototype.slice count UTF-16 code units, so an
 * emoji such as 👍🏽 (4 code units, 2 code points) would shift every later span if the two were
 * mixed. Spans are kept in code points in the state; only rendering and reading the selection go
 * through a TextIndex.
 */

/** Number of code points in `s` (a lone surrogate counts as one, as Python would). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Precomputed both-way index for one text: O(1) conversions, built once per article. */
export class TextIndex {
  readonly text: string;
  /** cpLength: the text's length in code points (Python `len(text)`). */
  readonly cpLength: number;
  private readonly cpToU16: Uint32Array;
  private readonly u16ToCp: Uint32Array;
  private readonly astral: boolean;

  constructor(text: string) {
    this.text = text;
    const cpToU16: number[] = [];
    const u16ToCp = new Uint32Array(text.length + 1);
    let cp = 0;
    for (let i = 0; i < text.length; i++) {
      cpToU16.push(i);
      u16ToCp[i] = cp;
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          // The low surrogate is inside code point `cp`; floor() maps it there.
          u16ToCp[i + 1] = cp;
          i++;
        }
      }
      cp++;
    }
    cpToU16.push(text.length);
    u16ToCp[text.length] = cp;
    this.cpLength = cp;
    this.cpToU16 = Uint32Array.from(cpToU16);
    this.u16ToCp = u16ToCp;
    this.astral = cp !== text.length;
  }

  /** UTF-16 index -> code point offset. Inside a surrogate pair, "floor" keeps the character
   * out (use for a start), "ceil" takes it in (use for an end). */
  toCodePoint(u16: number, round: "floor" | "ceil" = "floor"): number {
    const i = Math.max(0, Math.min(u16, this.text.length));
    if (!this.astral) return i;
    const cp = this.u16ToCp[i];
    if (round === "ceil" && i > 0 && i < this.text.length && this.cpToU16[cp] !== i) return cp + 1;
    return cp;
  }

  /** Code point offset -> UTF-16 index (clamped to the text). */
  toUtf16(cp: number): number {
    const i = Math.max(0, Math.min(cp, this.cpLength));
    return this.astral ? this.cpToU16[i] : i;
  }

  /** Python's text[start:end], with code point offsets. */
  slice(start: number, end: number): string {
    return this.text.slice(this.toUtf16(start), this.toUtf16(end));
  }
}

/** Shorthand for one conversion without an index (G9's one-liner, kept for small strings). */
export const toCodePoint = (s: string, u16: number): number => codePointLength(s.slice(0, u16));
export const toUtf16 = (s: string, cp: number): number => {
  let u = 0;
  for (let n = 0; n < cp && u < s.length; n++) {
    const c = s.charCodeAt(u);
    u += c >= 0xd800 && c <= 0xdbff && u + 1 < s.length && (s.charCodeAt(u + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return u;
};
