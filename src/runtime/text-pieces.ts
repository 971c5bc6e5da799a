/**
 * A text that grows by small appends and is read rarely: the answer's text kept for a usage estimate, the
 * max_tokens counter's uncounted tail. `s += piece` keeps every piece alive under a rope of one 32-byte cons cell
 * per append until something flattens it, and a stream keeps that rope for its whole life (docs/performance.md,
 * "Twelfth round"). Here the text is a few flat strings, each at least twice as long as the next: an append
 * joins the last ones whenever that order breaks, so a stream holds about the text's own bytes in O(log n)
 * strings, the pieces die young, and each character is copied O(log n) times however long the answer.
 */
export class TextPieces {
  private parts: string[] = [];

  constructor(start = '') {
    if (start !== '') this.parts.push(start);
  }

  append(piece: string): void {
    if (piece === '') return;
    const { parts } = this;
    parts.push(piece);
    let n = parts.length;
    while (n >= 2 && (parts[n - 2] as string).length < 2 * (parts[n - 1] as string).length) {
      const last = parts.pop() as string;
      parts[n - 2] = flatText(parts[n - 2] as string, last);
      n--;
    }
  }

  /** the whole text, flat; later reads are free until the next append */
  text(): string {
    const { parts } = this;
    if (parts.length === 0) return '';
    if (parts.length > 1) this.parts = [parts.join('')];
    return this.parts[0] as string;
  }

  /** start again from `text` */
  reset(text: string): void {
    this.parts = text === '' ? [] : [text];
  }

  /** how many strings hold the text (for its tests) */
  get partCount(): number {
    return this.parts.length;
  }
}

/**
 * `parts` as one flat string. A template literal or `+` builds a rope, and a rope kept for a whole stream (the
 * JSON around each chunk's delta) is walked again by every write that embeds it; a join copies once.
 */
export function flatText(...parts: string[]): string {
  return parts.join('');
}
