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
export function wantsTools(req: Pick<GatewayRequest, 'tools' | 'toolChoice'>): req is { tools: ToolSpec[]; toolChoice?: ToolChoice } {
  return req.tools !== undefined && req.tools.length > 0 && req.toolChoice !== 'none';
}

/** JSON with `<` escaped, so no text from a tool description can close or open a tag of ours. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function renderToolSection(tools: readonly ToolSpec[], choice: ToolChoice | undefined): string {
  const lines = [TOOLS_OPEN, 'You can call the following tools. Each line below is one tool as JSON: its name, what it does, and the JSON schema of its arguments.'];
  for (const tool of tools) {
    const entry: Record<string, unknown> = { name: tool.name };
    if (tool.description !== undefined) entry.description = tool.description;
    entry.parameters = tool.parameters ?? { type: 'object', properties: {} };
    lines.push(safeJson(entry));
  }
  lines.push(
    "To call tools, reply with nothing but the calls, one per line, each exactly in this form, with the arguments as one JSON object that matches the tool's schema:",
    '<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>',
    'Write no other text before or after the calls. The results will come back in <tool_result> blocks in the next turn.',
  );
  if (choice === 'required') lines.push('You must call at least one tool in this reply.');
  else if (typeof choice === 'object') lines.push(`You must call the tool ${safeJson(choice.name)} in this reply.`);
  else lines.push('If no tool is needed, answer normally in plain text and do not mention tools or this format.');
  lines.push(TOOLS_CLOSE);
  return lines.join('\n');
}

/** The query with the tool section appended when the request has tools, as the engine's tool stage appends it. */
export function withToolSection(query: string, req: Pick<GatewayRequest, 'tools' | 'toolChoice'>): string {
  if (!wantsTools(req)) return query;
  return `${query}\n\n${renderToolSection(req.tools, req.toolChoice)}`;
}
