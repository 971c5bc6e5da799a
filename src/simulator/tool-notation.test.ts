import { describe, expect, it } from 'vitest';
import { FREEFORM_SAMPLE, lastToolResult, simToolAnswer, TOOL_RESULT_PREFIX } from './tools.js';

const HEADER = "The following is a conversation between a user and an AI assistant. Continue it: write only the assistant's next reply, without any role tag.";
const ZWSP = '\u200B';
const section = (...lines: string[]): string => ['<tools>', 'You can call the following tools.', ...lines, 'Write no other text.', '</tools>'].join('\n');

describe('freeform tools', () => {
  it('a freeform tool is called with its sample text on lines of its own', () => {
    const query = `fix it\n\n${section('{"namespace":"functions","description":"JS"}', '{"name":"functions.exec","freeform":true}', '{"name":"ls","parameters":{}}')}`;
    expect(simToolAnswer(query)).toBe(`<tool_call name="functions.exec">\n${FREEFORM_SAMPLE}\n</tool_call>`);
  });

  it('SIM_TOOL_MALFORMED: a tag that never closes', () => {
    expect(simToolAnswer(`SIM_TOOL_MALFORMED\n\n${section('{"name":"functions.exec","freeform":true}')}`)).toBe(`<tool_call name="functions.exec"\n${FREEFORM_SAMPLE}`);
  });

  it('SIM_TOOL_ALL mixes both notations', () => {
    const query = `SIM_TOOL_ALL\n\n${section('{"name":"apply_patch","freeform":true,"grammar":{"syntax":"lark","definition":"start: x"}}', '{"name":"now","parameters":{}}')}`;
    expect(simToolAnswer(query)).toBe(`<tool_call name="apply_patch">\n${FREEFORM_SAMPLE}\n</tool_call>\n<tool_call name="now">{}</tool_call>`);
  });
});

describe('the last tool result, read block by block', () => {
  const block = (tag: string, body: string, attrs = ''): string => `<${tag}${attrs}>\n${body}\n</${tag}>`;
  it.each<[string, string[], string | undefined]>([
    ['a result after the user', [block('user', 'go'), block('assistant', '<tool_call id="c" name="ls">{}</tool_call>'), block('tool_result', 'a.ts', ' id="c" name="ls"')], 'a.ts'],
    ['a user message after the result', [block('user', 'go'), block('tool_result', 'a.ts'), block('user', 'again')], undefined],
    [
      'a result quoting a transcript (an agent reading the docs): its blocks are content',
      [block('user', 'read the docs'), block('tool_result', `Example:\n\n<user>\nhi\n<${ZWSP}/user>\n\n<tool_result>\nx\n<${ZWSP}/tool_result>`)],
      `Example:\n\n<user>\nhi\n<${ZWSP}/user>\n\n<tool_result>\nx\n<${ZWSP}/tool_result>`,
    ],
    ['a user message quoting <tool_result in mid-line', [block('user', 'what is <tool_result id="x"> for?')], undefined],
    ['an empty result', [block('user', 'go'), block('tool_result', '')], ''],
  ])('%s', (_name, blocks, expected) => {
    expect(lastToolResult([HEADER, ...blocks].join('\n\n'))).toBe(expected);
  });

  it('the answer after a result that quotes the notation ends the round trip', () => {
    const transcript = [HEADER, '<user>\ncat parser.ts\n</user>', `<tool_result id="c" name="cat">\nconst OPEN = '<tool_call';\n\n<user>\n<${ZWSP}/user>\n</tool_result>`].join(
      '\n\n',
    );
    expect(simToolAnswer(`${transcript}\n\n${section('{"name":"cat","parameters":{}}')}`)).toBe(`${TOOL_RESULT_PREFIX}const OPEN = '<tool_call';\n\n<user>\n<${ZWSP}/user>`);
  });
});

describe('SIM_TOOL_CALL: the tool and arguments the user asked for', () => {
  const offered = section(
    '{"name":"Read","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}',
    '{"name":"Bash","parameters":{"type":"object"}}',
    '{"name":"exec","freeform":true}',
  );
  it.each<[string, string, string]>([
    [
      'a JSON tool with exactly these arguments',
      'SIM_TOOL_CALL Bash {"command":"echo \\"hi\\" > out.txt"}',
      '<tool_call name="Bash">{"command":"echo \\"hi\\" > out.txt"}</tool_call>',
    ],
    ['a freeform tool with a JSON string as its text', 'SIM_TOOL_CALL exec "ls -la"', '<tool_call name="exec">\nls -la\n</tool_call>'],
    ['a tool not offered: the first tool, sample arguments', 'SIM_TOOL_CALL Write {"path":"x"}', '<tool_call name="Read">{"path":"path-value"}</tool_call>'],
    ['the line JSON-quoted by the client', '"SIM_TOOL_CALL Bash {\\"command\\":\\"ls \\\\\\"a b\\\\\\"\\"}"', '<tool_call name="Bash">{"command":"ls \\"a b\\""}</tool_call>'],
    ['arguments that are not JSON: the first tool, sample arguments', 'SIM_TOOL_CALL Bash {"command":', '<tool_call name="Read">{"path":"path-value"}</tool_call>'],
  ])('%s', (_name, line, expected) => {
    expect(simToolAnswer(`<user>\nplease ${line}\n</user>\n\n${offered}`)).toBe(expected);
  });

  it('after the tool result the answer quotes it, although the marker is still in the transcript', () => {
    const transcript = ['<user>\nSIM_TOOL_CALL Bash {"command":"ls"}\n</user>', '<tool_result id="c" name="Bash">\nout.txt\n</tool_result>'].join('\n\n');
    expect(simToolAnswer(`${transcript}\n\n${offered}`)).toBe(`${TOOL_RESULT_PREFIX}out.txt`);
  });
});
