/**
 * The o200k token table read from gpt-tokenizer's own data file (`data/o200k_base.tiktoken`: one base64 token and
 * its rank per line) instead of its generated JavaScript module, which holds the same table as a 2.2 MB array
 * literal: V8 parsing and compiling that literal leaves about 25 MB of freed parser memory in the process and keeps
 * the module's source alive, where reading the data file leaves neither. The table is the same, entry for entry
 * (the test compares the two): a token that is valid UTF-8 is its text, any other its bytes, and a missing rank is
 * ''. Why, and the measurement: docs/performance.md, "Runtime tuning".
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** gpt-tokenizer's mergeable ranks: index = rank; a string where the token is valid UTF-8, else its bytes */
export type BpeRanks = Array<string | number[]>;

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

export function readTiktokenRanks(file: string): BpeRanks {
  const data = readFileSync(file);
  // one scratch buffer for every token's bytes: no buffer or base64 string per token (less garbage at start)
  const scratch = Buffer.alloc(1024);
  const ranks: BpeRanks = [];
  let start = 0;
  while (start < data.length) {
    const space = data.indexOf(SPACE, start);
    let end = data.indexOf(NEWLINE, space);
    if (end < 0) end = data.length;
    if (space < 0 || space > end) throw new Error(`${file}: no rank on the line at byte ${start}`);
    const length = decodeBase64(data, start, space, scratch);
    if (length < 0) throw new Error(`${file}: bad base64 at byte ${start}`);
    const rank = Number(data.toString('latin1', space + 1, end));
    if (!Number.isInteger(rank) || rank < ranks.length) throw new Error(`${file}: bad rank at byte ${space + 1}`);
    while (ranks.length < rank) ranks.push('');
    const bytes = scratch.subarray(0, length);
    ranks.push(asText(bytes) ?? [...bytes]);
    start = end + 1;
  }
  return ranks;
}

/** Decodes data[from, to) (base64, padded) into out; the number of bytes, or -1 when it is not base64. */
function decodeBase64(data: Buffer, from: number, to: number, out: Buffer): number {
  let n = 0;
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
  return n;
}

/**
 * The token as text when its bytes are valid UTF-8 that decodes back to the same bytes, as the package's generator
 * decides (a leading byte order mark would be dropped by its decoder, so such a token stays bytes).
 */
function asText(bytes: Buffer): string | undefined {
  if (!isUtf8(bytes)) return undefined;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  return bytes.toString('utf8');
}
