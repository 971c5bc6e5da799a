/**
 * POST /v1/completions (legacy): the body → one GatewayRequest whose only message is the prompt, so a lone
 * prompt reaches OnDemand verbatim (docs/transcript.md rule 1).
 *
 * `prompt` is a string or an array holding exactly one string. An array of several prompts (several choices in
 * one request) and token-id prompts are refused with 400 `unsupported_value`: OnDemand answers one text prompt
 * per call, and a client that wants several answers sends several requests. `suffix`, `logprobs`, `n` and
 * `best_of` other than 1 are refused the same way; `echo` is honoured (the prompt is put in front of the text).
 */
import type { GatewayRequest, GenerationParams } from '../../core/types.js';
import {
  readSamplingParams,
  isAbsent,
  isObject,
  missing,
  onlyOne,
  optionalBoolean,
  optionalPositiveInt,
  readReasoningEffort,
  readStopList,
  requireModel,
  type ParseOptions,
  unsupported,
  wrongType,
} from '../validate.js';
import { invalidRequest, bodyNotObject } from '../../core/errors.js';

export interface ParsedCompletionsRequest {
  request: GatewayRequest;
  prompt: string;
  echo: boolean;
  includeUsage: boolean;
}

function readPrompt(value: unknown): string {
  if (isAbsent(value)) missing('prompt');
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) wrongType('prompt', 'a string or an array of strings', value);
  if (value.length === 0) throw invalidRequest("Invalid 'prompt': empty array.", 'prompt', 'empty_array');
  if (value.some((p) => typeof p !== 'string')) {
    unsupported('prompt', 'token-id prompts are not supported; send the prompt as text.');
  }
  if (value.length > 1) {
    unsupported('prompt', `${value.length} prompts. This gateway answers one prompt per request; send one request per prompt.`);
  }
  return value[0] as string;
}

export function parseCompletionsRequest(body: unknown, options: ParseOptions = {}): ParsedCompletionsRequest {
  if (!isObject(body)) throw bodyNotObject();
  const requestedModel = requireModel(body.model, options.defaultModel);
  const prompt = readPrompt(body.prompt);
  options.origins?.entry('prompt');
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  const echo = optionalBoolean(body.echo, 'echo') ?? false;
  onlyOne(body.n, 'n');
  onlyOne(body.best_of, 'best_of');
  if (!isAbsent(body.suffix) && body.suffix !== '') unsupported('suffix', 'inserting text before a suffix is not supported.');
  if (!isAbsent(body.logprobs) && body.logprobs !== 0) unsupported('logprobs', 'OnDemand returns no log probabilities.');
  let includeUsage = false;
  if (!isAbsent(body.stream_options)) {
    if (!isObject(body.stream_options)) wrongType('stream_options', 'an object', body.stream_options);
    includeUsage = optionalBoolean(body.stream_options.include_usage, 'stream_options.include_usage') ?? false;
  }
  const params: GenerationParams = readSamplingParams(body);
  const maxTokens = optionalPositiveInt(body.max_tokens, 'max_tokens');
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  const stop = readStopList(body.stop, 'stop', 4);
  if (stop !== undefined) params.stop = stop;
  // not in OpenAI's legacy API, but clients that share a chat request's options send it
  const reasoningEffort = readReasoningEffort(body.reasoning_effort, 'reasoning_effort');
  if (reasoningEffort !== undefined) params.reasoningEffort = reasoningEffort;
  const request: GatewayRequest = {
    api: 'completions',
    requestedModel,
    messages: [{ role: 'user', content: prompt }],
    params,
    stream,
    reasoningInMaxTokens: false,
  };
  return { request, prompt, echo, includeUsage: stream && includeUsage };
}
