/** A reader of flat, compact JSON objects that skips JSON.parse; why, and the measurement: docs/performance.md, "Runtime tuning". */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** Where a value read by readString / skipScalar ended (one past it); one per read, so the reader keeps no state. */
interface Cursor {
  end: number;
}

/**
 * `text` read as a flat object: the value of each of `keys` (in the same order) when it is a string, undefined when
 * it is absent or not a string; undefined as a whole when `text` is not a flat, compact object (every value a string,
 * number, true, false or null, no whitespace, plain keys) or not valid JSON. A repeated key keeps its last value, as
 * in JSON.parse.
 */
export function readFlatObject(text: string, keys: readonly string[]): Array<string | undefined> | undefined {
  const n = text.length;
  if (text.charCodeAt(0) !== OPEN) return undefined;
  const values: Array<string | undefined> = new Array<string | undefined>(keys.length).fill(undefined);
  const cursor: Cursor = { end: 0 };
  let i = 1;
  if (text.charCodeAt(1) === CLOSE) return n === 2 ? values : undefined;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyStart = i + 1;
    let j = keyStart;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < 0x20) return undefined;
    }
    if (j >= n || text.charCodeAt(j + 1) !== COLON) return undefined;
    const field = wantedIndex(text, keyStart, j - keyStart, keys);
    i = j + 2;
    if (text.charCodeAt(i) === QUOTE) {
      const value = readString(text, i + 1, field !== -1, cursor);
      if (value === undefined) return undefined;
      if (field !== -1) values[field] = value;
    } else {
      if (!skipScalar(text, i, cursor)) return undefined;
      // a number, true, false or null: not a string, whatever an earlier duplicate said
      if (field !== -1) values[field] = undefined;
    }
    i = cursor.end;
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      continue;
    }
    if (c !== CLOSE) return undefined;
    return i + 1 === n ? values : undefined;
  }
}

function wantedIndex(text: string, start: number, length: number, keys: readonly string[]): number {
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (key.length === length && text.startsWith(key, start)) return k;
  }
  return -1;
}

/**
 * A JSON string whose opening quote is just before `start`: its value ('' when `decode` is false, to save the
 * copy), or undefined if it is not valid JSON. Sets cursor.end past the closing quote.
 */
function readString(text: string, start: number, decode: boolean, cursor: Cursor): string | undefined {
  const n = text.length;
  let i = start;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      cursor.end = i + 1;
      return decode ? text.slice(start, i) : '';
    }
    if (c === BACKSLASH) break;
    if (c < 0x20) return undefined;
  }
  if (i >= n) return undefined;
  // escapes: decode piece by piece
  let out = decode ? text.slice(start, i) : '';
  let runStart = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      cursor.end = i + 1;
      return decode ? out + text.slice(runStart, i) : '';
    }
    if (c < 0x20) return undefined;
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    if (decode) out += text.slice(runStart, i);
    const e = text.charCodeAt(i + 1);
    let ch: string;
    switch (e) {
      case QUOTE:
        ch = '"';
        break;
      case BACKSLASH:
        ch = '\\';
        break;
      case 0x2f:
        ch = '/';
        break;
      case 0x62:
        ch = '\b';
        break;
      case 0x66:
        ch = '\f';
        break;
      case 0x6e:
        ch = '\n';
        break;
      case 0x72:
        ch = '\r';
        break;
      case 0x74:
        ch = '\t';
        break;
      case 0x75: {
        let code = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexValue(text.charCodeAt(k));
          if (h < 0) return undefined;
          code = code * 16 + h;
        }
        ch = String.fromCharCode(code);
        i += 4;
        break;
      }
      default:
        return undefined;
    }
    if (decode) out += ch;
    i += 2;
    runStart = i;
  }
  return undefined;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A JSON number, true, false or null starting at `start`; sets cursor.end past it. Objects and arrays are refused. */
function skipScalar(text: string, start: number, cursor: Cursor): boolean {
  let i = start;
  let c = text.charCodeAt(i);
  if (c === 0x74 /* t */ || c === 0x66 /* f */ || c === 0x6e /* n */) {
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
    if (!text.startsWith(word, i)) return false;
    cursor.end = i + word.length;
    return true;
  }
  if (c === 0x2d /* - */) c = text.charCodeAt(++i);
  if (c === 0x30) {
    i++;
  } else if (c >= 0x31 && c <= 0x39) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  } else {
    return false;
  }
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return false;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  c = text.charCodeAt(i);
  if (c === 0x65 || c === 0x45 /* e E */) {
    c = text.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d /* + - */) i++;
    if (!isDigit(text.charCodeAt(i))) return false;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  cursor.end = i;
  return true;
}
