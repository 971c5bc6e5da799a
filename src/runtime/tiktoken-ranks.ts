/**
 * The o200k token table read from gpt-tokenizer's own data file (`data/o200k_base.tiktoken`: one base64 token and
 * its rank per line), into one buffer of the tokens' bytes and their offsets by rank: no string, array or object per
 * token, so it costs about 2 MB outside V8's heap where the package's generated module (the same table as a 2.2 MB
 * array literal) and its Map of 200k strings cost 15 MB in it plus the parser's freed memory. The counter over it is
 * src/core/bpe-table.ts; the test compares the table with the package's, entry for entry. Why, and the
 * measurement: docs/performance.md, "Runtime tuning" and "Tenth round: memory".
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** the tokens' bytes by rank: token r is bytes[offsets[r], offsets[r + 1]); a missing rank is an empty token */
export interface TokenBytes {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

/** where gpt-tokenizer keeps the o200k data file (the image build keeps it: deploy/prune.mjs) */
export function o200kDataFile(): string {
  return createRequire(import.meta.url).resolve('gpt-tokenizer/data/o200k_base.tiktoken');
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const EQUALS = 0x3d;
/** base64 digit values by character code; 255: not a digit */
const DIGIT = new Uint8Array(256).fill(255);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) DIGIT[c.charCodeAt(0)] = i;

/** how much of the file is read at a time: the file (3.6 MB) is never held whole */
const CHUNK_BYTES = 256 * 1024;

export function readTiktokenTable(file: string, chunkBytes = CHUNK_BYTES): TokenBytes {
  // two passes over the file, so the table is built straight into typed arrays of its final size: no string,
  // number array or spare buffer per line, which would grow V8's young generation and the allocator for good; the
  // file is read in chunks, so what stays behind until a collection frees it is one chunk, not a 3.6 MB buffer
  let lastRank = -1;
  let total = 0;
  forEachFileLine(file, chunkBytes, (data, from, to, rank) => {
    if (rank <= lastRank) throw new Error(`${file}: bad rank ${rank} after ${lastRank}`);
    lastRank = rank;
    total += decodedLength(data, from, to);
  });
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(lastRank + 2);
  let used = 0;
  let next = 0;
  forEachFileLine(file, chunkBytes, (data, from, to, rank) => {
    // a missing rank is an empty token
    for (; next <= rank; next++) offsets[next] = used;
    const length = decodeBase64(data, from, to, bytes, used);
    if (length < 0) throw new Error(`${file}: bad base64 in the line of rank ${rank}`);
    used += length;
  });
  offsets[next] = used;
  return { bytes, offsets };
}

type Line = (data: Buffer, from: number, to: number, rank: number) => void;

/** Calls `line` with each line of the file: the buffer holding it, its base64 span [from, to) and its rank. */
function forEachFileLine(file: string, chunkBytes: number, line: Line): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafeSlow(chunkBytes);
    // the start of a line the last read cut, moved to the chunk's front
    let kept = 0;
    let offset = 0;
    for (;;) {
      const read = readSync(fd, chunk, kept, chunkBytes - kept, null);
      const filled = kept + read;
      if (filled === 0) return;
      // whole lines only, but at the end of the file the last line needs no newline
      const whole = read === 0 ? filled : chunk.lastIndexOf(NEWLINE, filled - 1) + 1;
      if (whole === 0) throw new Error(`${file}: a line longer than ${chunkBytes} bytes at byte ${offset}`);
      forEachLine(chunk.subarray(0, whole), file, offset, line);
      if (read === 0) return;
      chunk.copy(chunk, 0, whole, filled);
      kept = filled - whole;
      offset += whole;
    }
  } finally {
    closeSync(fd);
  }
}

/** Calls `line` with each line's base64 span [from, to) in `data` and its rank; `offset` is data's place in the file. */
function forEachLine(data: Buffer, file: string, offset: number, line: Line): void {
  let start = 0;
  while (start < data.length) {
    const space = data.indexOf(SPACE, start);
    let end = data.indexOf(NEWLINE, space);
    if (end < 0) end = data.length;
    if (space < 0 || space > end) throw new Error(`${file}: no rank on the line at byte ${offset + start}`);
    const rank = decimal(data, space + 1, end);
    if (rank < 0) throw new Error(`${file}: bad rank at byte ${offset + space + 1}`);
    line(data, start, space, rank);
    start = end + 1;
  }
}

/** data[from, to) as a decimal number, or -1 when it is not one */
function decimal(data: Buffer, from: number, to: number): number {
  if (from >= to) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (data[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 0xffffffff ? n : -1;
}

/** the bytes a base64 span decodes to (what decodeBase64 writes when the span is valid) */
function decodedLength(data: Buffer, from: number, to: number): number {
  let digits = 0;
  for (let i = from; i < to && data[i] !== EQUALS; i++) digits++;
  return Math.floor((digits * 6) / 8);
}

/** Decodes data[from, to) (base64, padded) into out from `at`; the number of bytes, or -1 when it is not base64. */
function decodeBase64(data: Buffer, from: number, to: number, out: Uint8Array, at: number): number {
  let n = at;
  let bits = 0;
  let count = 0;
  for (let i = from; i < to; i++) {
    const c = data[i] as number;
    if (c === EQUALS) break;
    const d = DIGIT[c] as number;
    if (d === 255 || n >= out.length) return -1;
    bits = (bits << 6) | d;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[n++] = (bits >> count) & 0xff;
    }
  }
  return n - at;
}
