/**
 * How a request becomes an OnDemand query. Every request runs in a fresh upstream session, so the whole
 * conversation travels in `query` as a tagged transcript, followed by the prompt sections the caller gives (the
 * engine's `<tools>` and `<response_format>`). The format and the reasons for it: docs/transcript.md.
 */

/** One turn of the conversation, as the transcript needs it (the gateway's Message fits it). */
export interface QueryMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  name?: string | undefined;
  /** a freeform call's `arguments` is its plain-text input, written on lines of its own */
  toolCalls?: readonly { id: string; name: string; arguments: string; freeform?: boolean | undefined }[] | undefined;
  toolCallId?: string | undefined;
  /** an assistant turn's earlier reasoning, shown as its own block before the turn */
  reasoning?: string | undefined;
}

/** Sampling parameters, already validated and in OnDemand's terms (the gateway's GenerationParams fits it). */
export interface QueryParams {
  temperature?: number | undefined;
  topP?: number | undefined;
  maxTokens?: number | undefined;
  stop?: readonly string[] | undefined;
  presencePenalty?: number | undefined;
  frequencyPenalty?: number | undefined;
  reasoningEffort?: 'low' | 'medium' | 'max' | undefined;
}

export interface QueryInput {
  messages: readonly QueryMessage[];
  params: QueryParams;
  /** OnDemand plugin ids to run (§6), already checked; absent or empty: only the model answers */
  pluginIds?: readonly string[] | undefined;
}

export interface OnDemandModelConfigs {
  fulfillmentPrompt?: string;
  stopSequences?: string[];
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

export interface OnDemandQueryBody {
  query: string;
  endpointId: string;
  responseMode: 'stream';
  pluginIds: string[];
  modelConfigs?: OnDemandModelConfigs;
  reasoningEffort?: 'low' | 'medium' | 'max';
}

export const TRANSCRIPT_HEADER = "The following is a conversation between a user and an AI assistant. Continue it: write only the assistant's next reply, without any role tag.";

/** When the client prefilled the start of the answer (the last message is the assistant's). */
export const PREFILL_HEADER =
  "The following is a conversation between a user and an AI assistant. The assistant's last reply is unfinished. Continue it: write only the rest of that reply, starting exactly where it stops, without repeating it and without any role tag.";

/** `sections` are appended after the transcript in order, each after a blank line. */
export function buildQuery(req: QueryInput, endpointId: string, sections: readonly string[] = []): OnDemandQueryBody {
  let query = renderTranscript(req.messages);
  for (const section of sections) query += `\n\n${section}`;
  const body: OnDemandQueryBody = {
    query,
    endpointId,
    responseMode: 'stream',
    pluginIds: req.pluginIds === undefined ? [] : [...req.pluginIds],
  };
  const modelConfigs = toModelConfigs(req.params);
  if (modelConfigs !== undefined) body.modelConfigs = modelConfigs;
  if (req.params.reasoningEffort !== undefined) body.reasoningEffort = req.params.reasoningEffort;
  return body;
}

export function toModelConfigs(params: QueryParams): OnDemandModelConfigs | undefined {
  const c: OnDemandModelConfigs = {};
  if (params.temperature !== undefined) c.temperature = params.temperature;
  if (params.topP !== undefined) c.topP = params.topP;
  if (params.maxTokens !== undefined) c.maxTokens = params.maxTokens;
  if (params.stop !== undefined && params.stop.length > 0) c.stopSequences = [...params.stop];
  if (params.presencePenalty !== undefined) c.presencePenalty = params.presencePenalty;
  if (params.frequencyPenalty !== undefined) c.frequencyPenalty = params.frequencyPenalty;
  return Object.keys(c).length > 0 ? c : undefined;
}

export function renderTranscript(messages: readonly QueryMessage[]): string {
  const only = messages[0];
  if (messages.length === 1 && only !== undefined && only.role === 'user') return only.content;

  const last = messages[messages.length - 1];
  const blocks: string[] = [last?.role === 'assistant' ? PREFILL_HEADER : TRANSCRIPT_HEADER];
  const toolNames = new Map<string, string>();
  for (const m of messages) {
    switch (m.role) {
      case 'system':
      case 'user':
        blocks.push(block(m.role, attrs([['name', m.name]]), neutraliseClosingTags(m.content)));
        break;
      case 'assistant': {
        if (m.reasoning !== undefined && m.reasoning !== '') blocks.push(block(REASONING_TAG, '', neutraliseClosingTags(m.reasoning)));
        const lines: string[] = [];
        const calls = m.toolCalls ?? [];
        if (m.content !== '' || calls.length === 0) lines.push(neutraliseClosingTags(m.content));
        for (const call of calls) {
          toolNames.set(call.id, call.name);
          const a = attrs([
            ['id', call.id],
            ['name', call.name],
          ]);
          const body = neutraliseClosingTags(call.arguments);
          lines.push(call.freeform === true ? `<tool_call${a}>\n${body}\n</tool_call>` : `<tool_call${a}>${body}</tool_call>`);
        }
        blocks.push(block('assistant', attrs([['name', m.name]]), lines.join('\n')));
        break;
      }
      case 'tool': {
        const name = (m.toolCallId !== undefined ? toolNames.get(m.toolCallId) : undefined) ?? m.name;
        blocks.push(
          block(
            'tool_result',
            attrs([
              ['id', m.toolCallId],
              ['name', name],
            ]),
            neutraliseClosingTags(m.content),
          ),
        );
        break;
      }
    }
  }
  return blocks.join('\n\n');
}

/** The block of an assistant turn's earlier reasoning (docs/transcript.md). */
export const REASONING_TAG = 'assistant_reasoning';

/** `body` must already be neutralised. */
function block(tag: string, attributes: string, body: string): string {
  return `<${tag}${attributes}>\n${body}\n</${tag}>`;
}

function attrs(pairs: Array<[string, string | undefined]>): string {
  let out = '';
  for (const [key, value] of pairs) if (value !== undefined && value !== '') out += ` ${key}="${escapeAttr(value)}"`;
  return out;
}

function escapeAttr(value: string): string {
  return value.replace(/[&"<>\r\n]/g, (ch) => ATTR_ESCAPES[ch] ?? ' ');
}

const ATTR_ESCAPES: Record<string, string> = { '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' };

/**
 * Content may not end a turn of ours: a closing tag of ours at the start of a line (after optional spaces or
 * tabs, any letter case) gets a zero-width space after its "<", which a reader still sees as the same text.
 */
const FORGED_CLOSING_TAG = /^([ \t]*)<(?=\/(?:system|user|assistant|assistant_reasoning|tool_result|tool_call)[\s>])/gim;
const ZERO_WIDTH_SPACE = '\u200B';

export function neutraliseClosingTags(content: string): string {
  if (!content.includes('</')) return content;
  return content.replace(FORGED_CLOSING_TAG, `$1<${ZERO_WIDTH_SPACE}`);
}
