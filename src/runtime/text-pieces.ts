/**
 * A text that grows by small appends and is read rarely: the answer's text kept for a usage estimate, the
 * max_tokens counter's uncounted tail. `s += piece` keeps every piece alive under a rope of one 32-byte cons cell
 * per append until something flattens it, and a stream keeps that rope for its whole life (docs/performance.md,
 * "Twelfth round"). Here the pieces wait in an array and are joined into one flat string every JOIN_EVERY
 * appends, so a stream holds about the text's own bytes and the pieces die young.
 */
const JOIN_EVERY = 16;

export class TextPieces {
  private pieces: string[] = [];

  constructor(start = '') {
    if (start !== '') this.pieces.push(start);
  }

  append(piece: string): void {
    if (piece === '') return;
    this.pieces.push(piece);
    if (this.pieces.length > JOIN_EVERY) this.pieces = [this.pieces.join('')];
  }

  /** the whole text, flat; later reads are free until the next append */
  text(): string {
    const { pieces } = this;
    if (pieces.length === 0) return '';
    if (pieces.length > 1) this.pieces = [pieces.join('')];
    return this.pieces[0] as string;
  }

  /** start again from `text` */
  reset(text: string): void {
    this.pieces = text === '' ? [] : [text];
  }
}

/**
 * `parts` as one flat string. A template literal or `+` builds a rope, and a rope kept for a whole stream (the
 * JSON around each chunk's delta) is walked again by every write that embeds it; a join copies once.
 */
export function flatText(...parts: string[]): string {
  return parts.join('');
}
