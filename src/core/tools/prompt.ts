/**
 * Tool calls, emulated, half one: the `<tools>` section appended to the query. OnDemand has no native function
 * calling, so the tools and a strict answer format travel in the text. The answer format is the transcript's own
 * notation for assistant tool calls (docs/transcript.md): the model sees earlier calls written exactly the way
 * it is asked to write new ones. The rules and the reasons: docs/tools.md.
 */
import type { GatewayRequest, ToolChoice, ToolSpec } from '../types.js';

export const TOOLS_OPEN = '<tools>';
export const TOOLS_CLOSE = '</tools>';

/** The request calls for the tool section (and the answer parser): tools given and tool_choice is not "none". */
export function wantsTools<R extends Pick<GatewayRequest, 'tools' | 'toolChoice'>>(req: R): req is R & { tools: ToolSpec[] } {
  return req.tools !== undefined && req.tools.length > 0 && req.toolChoice !== 'none';
}

/** JSON with `<` escaped, so no text from a tool description can close or open a tag of ours. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export interface ToolSectionOptions {
  /** false: the model may call one tool only (OpenAI's parallel_tool_calls) */
  parallel?: boolean | undefined;
}

export function renderToolSection(tools: readonly ToolSpec[], choice: ToolChoice | undefined, opts: ToolSectionOptions = {}): string {
  const freeform = tools.some((t) => t.freeform !== undefined);
  let intro = 'You can call the following tools. Each line below is one tool as JSON: its name, what it does, and the JSON schema of its arguments.';
  if (freeform) intro += ' A tool marked "freeform" takes plain text instead of JSON arguments; its "grammar", when there is one, says what the text must look like.';
  if (tools.some((t) => t.namespace?.description)) intro += ' A line with "namespace" describes the tools below it whose names start with that namespace and a dot.';
  const lines = [TOOLS_OPEN, intro];
  const described = new Set<string>();
  for (const tool of tools) {
    const ns = tool.namespace;
    if (ns?.description && !described.has(ns.name)) {
      described.add(ns.name);
      lines.push(safeJson({ namespace: ns.name, description: ns.description }));
    }
    lines.push(safeJson(toolEntry(tool)));
  }
  lines.push(
    "To call tools, reply with nothing but the calls, one per line, each exactly in this form, with the arguments as one JSON object that matches the tool's schema:",
    '<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>',
  );
  if (freeform) {
    lines.push(
      'For a freeform tool, write its plain text between the tags exactly as the tool wants it (no JSON, no quotes around it, no code fence), from the line after the opening tag to the closing tag on a line of its own:',
      '<tool_call name="TOOL_NAME">',
      'the text, on as many lines as it needs',
      '</tool_call>',
    );
  }
  lines.push('Write no other text before or after the calls. The results will come back in <tool_result> blocks in the next turn.');
  if (opts.parallel === false) lines.push('Call at most one tool in this reply.');
  if (choice === 'required') lines.push('You must call at least one tool in this reply.');
  else if (typeof choice === 'object') lines.push(`You must call the tool ${safeJson(choice.name)} in this reply.`);
  else lines.push('If no tool is needed, answer normally in plain text and do not mention tools or this format.');
  lines.push(TOOLS_CLOSE);
  return lines.join('\n');
}

/** One tool's JSON line: a function with its schema, or a freeform tool with its grammar. */
function toolEntry(tool: ToolSpec): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) entry.description = tool.description;
  if (tool.freeform === undefined) {
    entry.parameters = tool.parameters ?? { type: 'object', properties: {} };
    return entry;
  }
  entry.freeform = true;
  if (tool.freeform.type === 'grammar') entry.grammar = { syntax: tool.freeform.syntax, definition: tool.freeform.definition };
  return entry;
}
