/**
 * A byte-pair encoding table in three typed arrays, and a token counter over it that gives gpt-tokenizer's counts.
 * gpt-tokenizer keeps o200k as an array of 200k strings and a Map from each string to its rank: about 15 MB of heap
 * that every full collection walks, and a larger live heap that lets V8 grow the old generation further under load.
 * Here the tokens' bytes sit in one buffer, found through an open-addressing hash table: about 4 MB outside the
 * heap. Why, and the measurement: docs/performance.md, "Tenth round: memory".
 */
import type { PieceScanner } from '../runtime/regex-pieces.js';

/** The tokens' bytes by rank: token r is bytes[offsets[r], offsets[r + 1]); an empty token is a missing rank. */
export interface TokenTable {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

const NOT_FOUND = -1;
/** pieces whose merged parts are kept; gpt-tokenizer keeps 100,000 with their tokens, here 4,096 counts */
const MERGE_CACHE_SIZE = 4096;
/** U+FEFF in UTF-8: gpt-tokenizer's decoder drops it at the start of a byte key before its lookup (see rankOfBytes) */
const BOM = [0xef, 0xbb, 0xbf] as const;

/** FNV-1a, 32 bits */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashOf(bytes: Uint8Array, from: number, to: number): number {
  let h = FNV_OFFSET;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  return h >>> 0;
}

/** gpt-tokenizer's own UTF-8 check (no overlong forms, no surrogates, nothing above U+10FFFF), on b[from, to) */
function isUtf8(b: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const lead = b[i] as number;
    let length: number;
    let cp: number;
    if (lead <= 0x7f) {
      i++;
      continue;
    } else if ((lead & 0xe0) === 0xc0) {
      if (lead <= 0xc1) return false;
      length = 2;
      cp = lead & 0x1f;
    } else if ((lead & 0xf0) === 0xe0) {
      length = 3;
      cp = lead & 0x0f;
    } else if ((lead & 0xf8) === 0xf0) {
      if (lead > 0xf4) return false;
      length = 4;
      cp = lead & 0x07;
    } else return false;
    if (i + length > to) return false;
    for (let j = 1; j < length; j++) {
      const c = b[i + j] as number;
      if ((c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((length === 3 && cp < 0x800) || (length === 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += length;
  }
  return true;
}

const startsWithBom = (b: Uint8Array, from: number, to: number): boolean => to - from >= 3 && b[from] === BOM[0] && b[from + 1] === BOM[1] && b[from + 2] === BOM[2];

/** String.prototype.isWellFormed (Node 20 has it; the TypeScript library this project targets does not declare it) */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

export class BpeCounter {
  private readonly bytes: Uint8Array;
  private readonly offsets: Uint32Array;
  /** rank + 1 per slot, 0 = empty; linear probing */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** the rank of the empty token, when the table has missing ranks (gpt-tokenizer maps '' to the last of them) */
  private readonly emptyRank: number;
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(256);
  /** parts of pieces that are not ASCII tokens (gpt-tokenizer keeps such a cache too): answers repeat their words */
  private readonly merged = new Map<string, number>();
  /** count()'s text and running total, for countSpan: one callback for every call, not a closure each */
  private counting = '';
  private counted = 0;
  private readonly countSpan = (start: number, end: number): void => {
    this.counted += this.countPiece(this.counting.slice(start, end));
  };

  constructor(
    table: TokenTable,
    /** the encoding's split pattern's pieces (src/runtime/regex-pieces.ts) */
    private readonly pieces: PieceScanner,
  ) {
    this.bytes = table.bytes;
    this.offsets = table.offsets;
    const n = table.offsets.length - 1;
    let size = 1;
    while (size < n * 2) size <<= 1;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    let emptyRank = NOT_FOUND;
    for (let r = 0; r < n; r++) {
      const from = this.offsets[r] as number;
      const to = this.offsets[r + 1] as number;
      if (from === to) {
        emptyRank = r;
        continue;
      }
      let slot = hashOf(this.bytes, from, to) & this.mask;
      // a repeated token keeps its last rank, as a Map.set would
      while (this.slots[slot] !== 0 && this.find(this.bytes, from, to, slot) === NOT_FOUND) slot = (slot + 1) & this.mask;
      this.slots[slot] = r + 1;
    }
    this.emptyRank = emptyRank;
  }

  /** the rank in `slot` when its token is key[from, to) */
  private find(key: Uint8Array, from: number, to: number, slot: number): number {
    const rank = (this.slots[slot] as number) - 1;
    const start = this.offsets[rank] as number;
    if ((this.offsets[rank + 1] as number) - start !== to - from) return NOT_FOUND;
    for (let i = 0; i < to - from; i++) if (this.bytes[start + i] !== key[from + i]) return NOT_FOUND;
    return rank;
  }

  /** the rank of the token whose bytes are exactly key[from, to), or NOT_FOUND */
  private exact(key: Uint8Array, from: number, to: number): number {
    if (from === to) return this.emptyRank;
    let slot = hashOf(key, from, to) & this.mask;
    while (this.slots[slot] !== 0) {
      const rank = this.find(key, from, to, slot);
      if (rank !== NOT_FOUND) return rank;
      slot = (slot + 1) & this.mask;
    }
    return NOT_FOUND;
  }

  /**
   * The rank gpt-tokenizer finds for a text key: it looks text up among the tokens it keeps as text, which are the
   * valid UTF-8 ones not starting with a byte order mark.
   */
  private textRank(key: Uint8Array, from: number, to: number): number {
    return startsWithBom(key, from, to) ? NOT_FOUND : this.exact(key, from, to);
  }

  /**
   * The rank gpt-tokenizer's merge finds for a byte key: valid UTF-8 is decoded (its decoder drops one leading byte
   * order mark) and looked up as text; anything else is looked up as bytes.
   */
  private rankOfBytes(key: Uint8Array, from: number, to: number): number {
    if (!isUtf8(key, from, to)) return this.exact(key, from, to);
    return this.textRank(key, startsWithBom(key, from, to) ? from + 3 : from, to);
  }

  count(text: string): number {
    this.counting = text;
    this.counted = 0;
    this.pieces.forEach(text, this.countSpan);
    this.counting = '';
    return this.counted;
  }

  private countPiece(piece: string): number {
    // most pieces are ASCII: hashed and compared from the string's own codes, without encoding it first
    let h = FNV_OFFSET;
    let ascii = true;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    if (ascii && this.asciiToken(piece, h >>> 0)) return 1;
    let parts = this.merged.get(piece);
    if (parts !== undefined) return parts;
    if (this.scratch.length < piece.length * 3) this.scratch = new Uint8Array(piece.length * 3);
    const length = this.encoder.encodeInto(piece, this.scratch).written;
    // the piece is one token when its text is one: text with a lone surrogate (written as U+FFFD) never is
    parts = !ascii && this.textRank(this.scratch, 0, length) !== NOT_FOUND && isWellFormed(piece) ? 1 : this.mergedParts(this.scratch.subarray(0, length));
    // bounded: emptied when full, which costs a few merges again rather than an LRU's bookkeeping on every hit
    if (this.merged.size >= MERGE_CACHE_SIZE) this.merged.clear();
    this.merged.set(piece, parts);
    return parts;
  }

  /** whether the ASCII text `piece` (its FNV-1a hash `hash`) is a token */
  private asciiToken(piece: string, hash: number): boolean {
    let slot = hash & this.mask;
    const length = piece.length;
    for (;;) {
      const rank = (this.slots[slot] as number) - 1;
      if (rank < 0) return false;
      const start = this.offsets[rank] as number;
      if ((this.offsets[rank + 1] as number) - start === length) {
        let i = 0;
        while (i < length && this.bytes[start + i] === piece.charCodeAt(i)) i++;
        if (i === length) return true;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** gpt-tokenizer's bytePairMerge, counting the parts: merge the lowest-ranked adjacent pair (the first of equals) */
  private mergedParts(piece: Uint8Array): number {
    const starts: number[] = [];
    const ranks: number[] = [];
    const rankAt = (i: number): number => {
      const end = starts[i + 2];
      if (end === undefined) return Infinity;
      const rank = this.rankOfBytes(piece, starts[i] as number, end);
      return rank === NOT_FOUND ? Infinity : rank;
    };
    for (let i = 0; i <= piece.length; i++) starts.push(i);
    for (let i = 0; i <= piece.length; i++) ranks.push(i < piece.length - 1 ? rankAt(i) : Infinity);
    while (starts.length > 1) {
      let lowest = Infinity;
      let at = -1;
      for (let i = 0; i < ranks.length - 1; i++) {
        if ((ranks[i] as number) < lowest) {
          lowest = ranks[i] as number;
          at = i;
        }
      }
      if (at === -1) break;
      starts.splice(at + 1, 1);
      ranks.splice(at, 1);
      ranks[at] = rankAt(at);
      if (at > 0) ranks[at - 1] = rankAt(at - 1);
    }
    return starts.length - 1;
  }
}
