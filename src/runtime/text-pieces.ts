/**
 * A text that grows by small appends and is read rarely: the answer's text kept for a usage estimate, the
 * max_tokens counter's uncounted tail. `s += piece` keeps every piece alive under a rope of one 32-byte cons cell
 * per append until something flattens it, and a stream keeps that rope for its whole life (docs/performance.md,
 * "Twelfth round"). Here the pieces are joined FAN_OUT at a time into flat strings, and those FAN_OUT at a time
 * again, level by level: a stream holds its text's bytes in fewer than FAN_OUT strings per level, the pieces die
 * young, and each character is copied once per level, log8(n) times however long the answer.
 */
const FAN_OUT = 8;

export class TextPieces {
  /** levels[0] the latest pieces; levels[k + 1] joins of FAN_OUT strings of levels[k]; the oldest text is highest */
  private levels: string[][] = [];

  constructor(start = '') {
    if (start !== '') this.levels.push([start]);
  }

  append(piece: string): void {
    if (piece === '') return;
    const { levels } = this;
    let carry = piece;
    for (let k = 0; ; k++) {
      let level = levels[k];
      if (level === undefined) {
        level = [];
        levels.push(level);
      }
      level.push(carry);
      if (level.length < FAN_OUT) return;
      carry = level.join('');
      level.length = 0;
    }
  }

  /** the whole text, flat; later reads are free until the next append */
  text(): string {
    const { levels } = this;
    let only: string | undefined;
    let count = 0;
    for (const level of levels) {
      count += level.length;
      if (level.length > 0) only = level[0];
    }
    if (count === 0) return '';
    if (count === 1) return only as string;
    const all: string[] = [];
    for (let k = levels.length - 1; k >= 0; k--) for (const s of levels[k] as string[]) all.push(s);
    const text = all.join('');
    this.levels = [[text]];
    return text;
  }

  /** start again from `text` */
  reset(text: string): void {
    this.levels = text === '' ? [] : [[text]];
  }

  /** how many strings hold the text (for its tests) */
  get partCount(): number {
    let count = 0;
    for (const level of this.levels) count += level.length;
    return count;
  }
}

/**
 * `parts` as one flat string. A template literal or `+` builds a rope, and a rope kept for a whole stream (the
 * JSON around each chunk's delta) is walked again by every write that embeds it; a join copies once.
 */
export function flatText(...parts: string[]): string {
  return parts.join('');
}
