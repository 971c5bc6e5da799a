/** The simulator's session memory as its answers show it: the code word, from the session's turns or the query. */
import { describe, expect, it } from 'vitest';
import { recallCodeWord } from './answer.js';

describe('recallCodeWord', () => {
  const cases: Array<[string, { query: string; history: string[] }, string | undefined]> = [
    ['no question: not a recall', { query: 'The code word is kiwi.', history: [] }, undefined],
    ['nothing told: does not know', { query: 'What is the code word?', history: [] }, 'I do not know the code word.'],
    ['told in an earlier turn of the session', { query: 'What was the code word?', history: ['The code word is kiwi. Say ok.', 'ok'] }, 'The code word is kiwi.'],
    ['the latest turn wins', { query: 'what is the code word', history: ['code word is kiwi', 'ok', 'Now the code word is "mango".', 'ok'] }, 'The code word is mango.'],
    [
      'told in a replayed transcript before the question',
      { query: '<user>\nThe code word is fig.\n</user>\n\n<user>\nWhat is the code word?\n</user>', history: [] },
      'The code word is fig.',
    ],
    ['a word after the question does not count', { query: 'What is the code word? (the code word is lime)', history: [] }, 'I do not know the code word.'],
    [
      'a transcript asking again: the last question counts',
      { query: 'What is the code word?\nThe code word is fig.\nWhat is the code word?', history: [] },
      'The code word is fig.',
    ],
    ['unicode words', { query: 'What is the code word?', history: ['The code word is 猕猴桃'] }, 'The code word is 猕猴桃.'],
  ];
  it.each(cases)('%s', (_name, ctx, want) => expect(recallCodeWord(ctx)).toBe(want));
});
