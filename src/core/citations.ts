/**
 * The URLs an answer's text cites, as url_citation annotations: OnDemand's Internet Search answers write their
 * sources into the text (a markdown link, a bare URL), and nothing else tells which pages were used. Pure.
 *
 * - `[text](https://…)` (also `![text](…)` and a `"title"` after the URL): the annotation spans the whole link,
 *   its title is the link text (the URL when the text is empty);
 * - `<https://…>` and bare `https://…`: the annotation spans the URL, its title is the URL. A bare URL stops at
 *   white space, `<>"` and backticks; trailing sentence punctuation and a `)` without its `(` are left out.
 * Indices are UTF-16 code unit offsets into the text, end exclusive (`text.slice(start, end)`), as OpenAI's
 * start_index / end_index count them. Every occurrence is one annotation, in text order. Titles are never
 * made up: only the answer's own words.
 */
import type { UrlCitation } from './types.js';

const URL_BODY = String.raw`https?:\/\/[^\s()<>\[\]]+(?:\([^\s()<>]*\)[^\s()<>\[\]]*)*`;
const MARKDOWN_LINK = new RegExp(String.raw`!?\[([^\[\]\n]*)\]\((${URL_BODY})(?:\s+"[^"\n]*")?\)`, 'g');
const AUTOLINK = /<(https?:\/\/[^\s<>]+)>/g;
const BARE_URL = /https?:\/\/[^\s<>"`]+/g;
/** punctuation that ends a sentence after a URL rather than belonging to it */
const TRAILING = /[.,;:!?'*_~\]]+$/;

export function extractCitations(text: string): UrlCitation[] {
  if (!text.includes('http')) return [];
  const found: UrlCitation[] = [];
  const taken: Array<[number, number]> = [];
  for (const m of text.matchAll(MARKDOWN_LINK)) {
    const start = m.index;
    const end = start + m[0].length;
    const url = m[2] as string;
    const label = (m[1] as string).trim();
    found.push({ url, title: label === '' ? url : label, startIndex: start, endIndex: end });
    taken.push([start, end]);
  }
  for (const m of text.matchAll(AUTOLINK)) {
    const start = m.index + 1;
    if (inside(taken, start)) continue;
    const url = m[1] as string;
    found.push({ url, title: url, startIndex: start, endIndex: start + url.length });
    taken.push([m.index, m.index + m[0].length]);
  }
  for (const m of text.matchAll(BARE_URL)) {
    const start = m.index;
    if (inside(taken, start)) continue;
    const url = trimBareUrl(m[0]);
    if (url.length <= 'https://'.length) continue;
    found.push({ url, title: url, startIndex: start, endIndex: start + url.length });
  }
  return found.sort((a, b) => a.startIndex - b.startIndex);
}

function inside(spans: ReadonlyArray<[number, number]>, at: number): boolean {
  return spans.some(([s, e]) => at >= s && at < e);
}

/** A bare URL without the punctuation of the sentence around it. */
function trimBareUrl(raw: string): string {
  let url = raw;
  for (;;) {
    const before = url;
    url = url.replace(TRAILING, '');
    // a closing paren belongs to the URL only when the URL opened one
    if (url.endsWith(')') && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    if (url === before) return url;
  }
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i !== -1; i = s.indexOf(ch, i + 1)) n++;
  return n;
}
