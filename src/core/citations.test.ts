import { describe, expect, it } from 'vitest';
import { extractCitations } from './citations.js';

/** [text, expected [slice the indices cut, url, title]] */
const CASES: Array<[string, string, Array<[string, string, string]>]> = [
  ['no URL', 'The answer has no source.', []],
  [
    'a markdown link',
    'Source: [AQI.in – Abu Dhabi](https://www.aqi.in/weather/abu-dhabi)',
    [['[AQI.in – Abu Dhabi](https://www.aqi.in/weather/abu-dhabi)', 'https://www.aqi.in/weather/abu-dhabi', 'AQI.in – Abu Dhabi']],
  ],
  ['a bare URL ending a sentence', 'See https://example.com/a/b.', [['https://example.com/a/b', 'https://example.com/a/b', 'https://example.com/a/b']]],
  ['a bare URL in parentheses', 'Tides (https://noaa.gov/tides) matter', [['https://noaa.gov/tides', 'https://noaa.gov/tides', 'https://noaa.gov/tides']]],
  [
    'a URL with its own parentheses',
    'https://en.wikipedia.org/wiki/Tide_(disambiguation)',
    [['https://en.wikipedia.org/wiki/Tide_(disambiguation)', 'https://en.wikipedia.org/wiki/Tide_(disambiguation)', 'https://en.wikipedia.org/wiki/Tide_(disambiguation)']],
  ],
  ['a link with an empty label', '[](http://a.example/x)', [['[](http://a.example/x)', 'http://a.example/x', 'http://a.example/x']]],
  ['a link with a title attribute', '[Docs](https://d.example/p "Docs page") end', [['[Docs](https://d.example/p "Docs page")', 'https://d.example/p', 'Docs']]],
  ['an autolink', 'at <https://x.example/q?a=1&b=2>.', [['https://x.example/q?a=1&b=2', 'https://x.example/q?a=1&b=2', 'https://x.example/q?a=1&b=2']]],
  [
    'two links and a bare URL, in order',
    '1. [A](https://a.example) 2. https://b.example, 3. [C](https://c.example/)',
    [
      ['[A](https://a.example)', 'https://a.example', 'A'],
      ['https://b.example', 'https://b.example', 'https://b.example'],
      ['[C](https://c.example/)', 'https://c.example/', 'C'],
    ],
  ],
  ['UTF-16 indices after astral characters', '🌊🌊 **Tides**: [NOAA](https://noaa.gov)', [['[NOAA](https://noaa.gov)', 'https://noaa.gov', 'NOAA']]],
  ['a link label that is not http', '[mail](mailto:a@b.c) and ftp://x.y', []],
  ['bold around a bare URL', '**https://bold.example**', [['https://bold.example', 'https://bold.example', 'https://bold.example']]],
];

describe('extractCitations', () => {
  it.each(CASES)('%s', (_name, text, expected) => {
    const found = extractCitations(text);
    expect(found.map((c) => [text.slice(c.startIndex, c.endIndex), c.url, c.title])).toEqual(expected);
  });

  it('counts indices in UTF-16 code units, as OpenAI does', () => {
    const text = '🌊 [N](https://n.example)';
    const [c] = extractCitations(text);
    expect(c?.startIndex).toBe(3); // the wave is two code units, then a space
    expect(c?.endIndex).toBe(text.length);
  });

  it('reads the captured answer: one citation, titled by its link text', () => {
    const answer =
      'As of **8:30 PM local time on July 17, 2026**, Abu Dhabi’s weather is **clear at 36°C (97°F)**.\n\nSource: [AQI.in – Abu Dhabi Weather Conditions](https://www.aqi.in/weather/us/united-arab-emirates/abu-dhabi/abu-dhabi)';
    expect(extractCitations(answer)).toEqual([
      {
        url: 'https://www.aqi.in/weather/us/united-arab-emirates/abu-dhabi/abu-dhabi',
        title: 'AQI.in – Abu Dhabi Weather Conditions',
        startIndex: answer.indexOf('[AQI'),
        endIndex: answer.length,
      },
    ]);
  });
});
