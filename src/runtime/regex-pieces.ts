/**
 * The matches of a global pattern over a text, in matchAll's order, handed over as (start, end) with no match array
 * and no iterator result per match. A sticky copy of the pattern is tested where the last match ended: when the
 * matches tile the text (each starts where the last ended, as a tokenizer's split pattern's do) that finds the very
 * match a global scan would, since a global scan takes the leftmost match and this one starts at the leftmost
 * place possible. Where a match does not start there, the rest is scanned with the global pattern. Counting
 * max_tokens per delta, matchAll's arrays were a tenth of what a stream allocated (docs/performance.md).
 */
export class PieceScanner {
  private readonly sticky: RegExp;
  private readonly global: RegExp;

  constructor(pattern: RegExp) {
    const flags = pattern.flags.replace(/[gy]/g, '');
    this.sticky = new RegExp(pattern.source, `${flags}y`);
    this.global = new RegExp(pattern.source, `${flags}g`);
  }

  forEach(text: string, piece: (start: number, end: number) => void): void {
    const sticky = this.sticky;
    let at = 0;
    while (at < text.length) {
      sticky.lastIndex = at;
      if (!sticky.test(text) || sticky.lastIndex === at) return this.scanFrom(text, at, piece);
      const end = sticky.lastIndex;
      piece(at, end);
      at = end;
    }
  }

  /** matchAll's way, from `from` on (a global scan resumed where the tiled part ended finds what one from 0 would) */
  private scanFrom(text: string, from: number, piece: (start: number, end: number) => void): void {
    const global = this.global;
    global.lastIndex = from;
    for (let m = global.exec(text); m !== null; m = global.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      piece(start, end);
      // after an empty match the scan steps one character on, as matchAll's does
      global.lastIndex = end > start ? end : end + stepAt(text, end, global.unicode);
    }
  }
}

function stepAt(text: string, at: number, unicode: boolean): number {
  if (!unicode || at + 1 >= text.length) return 1;
  const c = text.charCodeAt(at);
  const d = text.charCodeAt(at + 1);
  return c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
}
