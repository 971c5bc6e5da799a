/**
 * Models and media end to end, through the simulator: the live catalogue behind /v1/models (inactive endpoints
 * hidden), fallback chains (model_error, a rejected endpoint, an inactive one skipped), automatic routing,
 * per-model settings, and the openai SDK sending images (data: and http URLs), a PDF and audio.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simulatedContext, type UploadRecord } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: OpenAI;

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');

beforeAll(async () => {
  stack = await startStack({
    env: {
      MODEL_MAP: JSON.stringify({ ghost: 'predefined-ghost-model' }),
      MODEL_FALLBACKS: JSON.stringify({ 'claude-sonnet-4-6': ['claude-3.7-sonnet', 'gpt-4o'], ghost: ['gpt-4o-mini'], 'gpt-3.5-turbo': ['gpt-4.1'] }),
      MODEL_SETTINGS: JSON.stringify({ 'gpt-4.1-mini': { system_prompt: 'Answer in French.', params: { temperature: 0.3 } } }),
      MEDIA_MAX_BYTES: '4096',
    },
  });
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const endpoints = (): string[] => stack.sim.stats().queryBodies.map((b) => (b as { endpointId: string }).endpointId);
const lastQuery = (): { query: string; endpointId: string; modelConfigs?: Record<string, unknown> } => stack.sim.stats().lastQuery as never;
const allKeysActive = (): boolean => stack.gateway.pool.list().every((k) => k.state === 'active');

async function chat(body: Record<string, unknown>): Promise<{ status: number; headers: Headers; json: Record<string, any> }> {
  const res = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

describe('the live catalogue', () => {
  it('is read at start; /v1/models lists active endpoints with streaming and reasoning, hides inactive ones', async () => {
    expect(stack.gateway.models.router.loadedAt()).not.toBeNull();
    const res = await fetch(`${stack.baseURL}/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    const body = (await res.json()) as { data: Array<Record<string, unknown>> };
    const byId = new Map(body.data.map((m) => [m.id as string, m]));
    expect(byId.get('auto')).toMatchObject({ object: 'model', endpoint_id: 'auto' });
    expect(byId.get('gpt-4o')).toMatchObject({ endpoint_id: 'predefined-openai-gpt4o', name: 'GPT-4o', streaming: true, reasoning: false });
    expect(byId.get('deepseek-r1')).toMatchObject({ streaming: true, reasoning: true, reasoning_efforts: ['low', 'medium', 'max'] });
    expect(byId.has('gpt-3.5-turbo')).toBe(false); // the simulator's inactive endpoint
    expect(byId.has('ghost')).toBe(false); // MODEL_MAP to an endpoint the catalogue does not list
    const page = await client.models.list();
    expect(page.data.length).toBe(body.data.length);
    await expect(client.models.retrieve('gpt-3.5-turbo')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.models.retrieve('predefined-openai-gpt3.5-turbo')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.models.retrieve('claude-opus-4-6')).id).toBe('claude-opus-4-6');
  });

  it('a refresh re-reads it with a pool key, and key health is not touched', async () => {
    const before = stack.gateway.models.router.loadedAt()!;
    await new Promise((r) => setTimeout(r, 5));
    expect(await stack.gateway.models.refreshCatalogue()).toBe(true);
    expect(stack.gateway.models.router.loadedAt()!).toBeGreaterThan(before);
    expect(stack.gateway.pool.list().every((k) => k.successes === 0 && k.failures === 0)).toBe(true);
  });
});

describe('fallback chains', () => {
  it('model_error (HTTP 500) on the first model: the next one answers, headers and log say which, keys stay healthy', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 500, body: { errorCode: 'model_error', message: 'The model failed' }, on: 'query', times: 1 });
    const res = await chat({ model: 'claude-sonnet-4-6' });
    expect(res.status).toBe(200);
    expect(res.json.model).toBe('claude-sonnet-4-6');
    expect(res.json.choices[0].message.content).toContain('(predefined-claude-3.7-sonnet)');
    expect(res.headers.get('x-gateway-model')).toBe('claude-3.7-sonnet');
    expect(res.headers.get('x-ondemand-endpoint')).toBe('predefined-claude-3.7-sonnet');
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    expect(endpoints()).toEqual(['predefined-claude-sonnet-4-6', 'predefined-claude-3.7-sonnet']);
    expect(allKeysActive()).toBe(true);
    const line = stack
      .logs()
      .split('\n')
      .filter((l) => l.includes('"answeredBy":"claude-3.7-sonnet"'));
    expect(line.length).toBe(1);
    expect(line[0]).toContain('"endpoint":"predefined-claude-3.7-sonnet"');
  });

  it('model_error inside the stream before the first byte, then again: the third model answers a streaming SDK call', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 0, errorCode: 'model_error', times: 2 });
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hello' }], stream: true }).withResponse();
    expect(stream.response.headers.get('x-gateway-model')).toBe('gpt-4o');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: hello');
    expect(endpoints()).toEqual(['predefined-claude-sonnet-4-6', 'predefined-claude-3.7-sonnet', 'predefined-openai-gpt4o']);
  });

  it('an endpoint the upstream rejects (400 invalid endpointId) falls back; an inactive one is skipped without a call', async () => {
    const ghost = await chat({ model: 'ghost' });
    expect(ghost.status).toBe(200);
    expect(ghost.headers.get('x-gateway-model')).toBe('gpt-4o-mini');
    expect(endpoints()).toEqual(['predefined-ghost-model', 'predefined-openai-gpt4o-mini']);
    stack.sim.reset();
    const inactive = await chat({ model: 'gpt-3.5-turbo' });
    expect(inactive.status).toBe(200);
    expect(inactive.headers.get('x-gateway-model')).toBe('gpt-4.1');
    expect(endpoints()).toEqual(['predefined-openai-gpt4.1']);
  });

  it('without a chain, model_error on every key is a 502 naming the code, and no key is blamed', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 500, body: { errorCode: 'model_error', message: 'The model failed' }, on: 'query' });
    const res = await chat({ model: 'gpt-4o' });
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ type: 'api_error', code: 'model_error' });
    expect(endpoints()).toEqual(['predefined-openai-gpt4o', 'predefined-openai-gpt4o', 'predefined-openai-gpt4o']);
    expect(allKeysActive()).toBe(true);
  });

  it('a bad request is not retried on another model', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 400, on: 'query', times: 1, body: { errorCode: 'invalid_request', message: 'temperature must be between 0 and 2' } });
    const res = await chat({ model: 'claude-sonnet-4-6' });
    expect(res.status).toBe(400);
    expect(endpoints()).toEqual(['predefined-claude-sonnet-4-6']);
  });
});

describe('automatic routing', () => {
  it.each([
    ['plain text → DEFAULT_MODEL', {}, 'gpt-4o'],
    ['tools → gpt-4.1', { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] }, 'gpt-4.1'],
    ['reasoning_effort → o3-mini', { reasoning_effort: 'high' }, 'o3-mini'],
    [
      'an image → gpt-4o',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is it?' },
              { type: 'image_url', image_url: { url: 'https://example.com/x.png' } },
            ],
          },
        ],
      },
      'gpt-4o',
    ],
    ['a long prompt → gemini-2.5-pro', { messages: [{ role: 'user', content: 'word '.repeat(80_001) }] }, 'gemini-2.5-pro'],
  ])('%s', async (_name, body, model) => {
    const res = await chat({ model: 'auto', ...body });
    expect(res.status).toBe(200);
    expect(res.json.model).toBe('auto');
    expect(res.headers.get('x-gateway-model')).toBe(model);
  });
});

describe('per-model settings', () => {
  it('fills default parameters and prepends the system prompt of that model', async () => {
    const res = await chat({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Bonjour' }] });
    expect(res.status).toBe(200);
    expect(lastQuery().modelConfigs).toEqual({ temperature: 0.3 });
    expect(lastQuery().query).toContain('<system>\nAnswer in French.\n</system>');
    await chat({ model: 'gpt-4.1-mini', temperature: 1 });
    expect(lastQuery().modelConfigs).toEqual({ temperature: 1 });
  });
});

describe('audio through the openai SDK', () => {
  /** A RIFF/WAVE header and a short run of samples. */
  const WAV = Buffer.concat([Buffer.from('RIFF'), Buffer.from([44, 0, 0, 0]), Buffer.from('WAVEfmt '), Buffer.alloc(32, 3)]);
  const transcript = `[simulated transcript ${createHash('sha256').update(WAV).digest('hex').slice(0, 12)}]`;
  const audioTurn = (format: 'wav' | 'mp3' = 'wav'): OpenAI.ChatCompletionMessageParam[] => [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What does the recording say?' },
        { type: 'input_audio', input_audio: { data: WAV.toString('base64'), format } },
      ],
    },
  ];
  const onlyUpload = (): UploadRecord => {
    const { uploads } = stack.sim.stats();
    expect(uploads).toHaveLength(1);
    return uploads[0]!;
  };

  it('an input_audio part is one media upload with the audio plugin into the query’s session; the transcript reaches the query', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: audioTurn() });
    expect(res.choices[0]?.message.content).toContain('Attached: audio-1.wav');
    expect(onlyUpload()).toEqual({
      via: 'file',
      name: 'audio-1.wav',
      mimeType: 'audio/wav',
      plugins: ['plugin-1713958830'],
      sessionId: stack.sim.stats().lastQuerySessionId,
      sizeBytes: WAV.length,
      context: transcript,
    });
    expect(lastQuery().query).toBe(`What does the recording say?\n\n<attachment name="audio-1.wav" type="audio/wav">\n${transcript}\n</attachment>`);
  });

  it('the same, streaming, in a conversation', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'system', content: 'Be brief.' }, ...audioTurn()],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('Attached: audio-1.wav');
    expect(onlyUpload()).toMatchObject({ mimeType: 'audio/wav', plugins: ['plugin-1713958830'], sessionId: stack.sim.stats().lastQuerySessionId });
    expect(lastQuery().query).toContain(`<attachment name="audio-1.wav" type="audio/wav">\n${transcript}\n</attachment>\n</user>`);
  });

  it('a format that does not match the bytes is a 400 through the SDK, before any upstream call', async () => {
    const err = (await client.chat.completions.create({ model: 'gpt-4o', messages: audioTurn('mp3') }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ code: 'invalid_media', message: 'An audio part says its format is mp3, but its data is audio/wav.' });
    expect(stack.sim.stats().sessionsCreated).toBe(0);
  });

  it('audio output is refused, naming the parameter', async () => {
    const res = await chat({ model: 'gpt-4o', modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', param: 'modalities', code: 'unsupported_value' });
    expect(res.json.error.message).toMatch(/^Audio output \('modalities'\) is not supported/);
  });
});

describe('images and files through the openai SDK', () => {
  it('a data: URL image is uploaded raw into the session and referenced in the user turn', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Describe this picture' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
          ],
        },
      ],
    });
    expect(res.choices[0]?.message.content).toContain('Attached: image-1.png');
    expect(stack.sim.stats().mediaUploads).toBe(1);
    expect(lastQuery().query).toBe(`Describe this picture\n\n<attachment name="image-1.png" type="image/png">\n${simulatedContext('image-1.png')}\n</attachment>`);
  });

  it('an http(s) image URL is handed to the JSON upload (the gateway never fetches it), streaming', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'https://images.example.com/pets/cat.png' } },
            { type: 'text', text: 'What animal?' },
          ],
        },
      ],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('Attached: cat.png');
    expect(lastQuery().query).toContain(`What animal?\n\n<attachment name="cat.png" type="image/png">\n${simulatedContext('cat.png')}\n</attachment>\n</user>`);
  });

  it('a PDF file part is uploaded with its name', async () => {
    const res = await client.chat.completions.create({
      model: 'claude-sonnet-4-6',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${PDF.toString('base64')}` } },
            { type: 'text', text: 'Summarise the report' },
          ],
        },
      ],
    });
    expect(res.choices[0]?.message.content).toContain('Attached: report.pdf');
    expect(lastQuery().query).toContain('<attachment name="report.pdf" type="application/pdf">');
  });

  it('media retried on another key is uploaded again into that key’s new session', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 503, on: 'query', times: 1 });
    const res = await chat({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://e.example/a.png' } }] }] });
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toContain('Attached: a.png');
    expect(stack.sim.stats().mediaUploads).toBe(2);
    expect(stack.sim.stats().crossKeyQueries).toBe(0);
  });

  it.each([
    ['too large', { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.alloc(5000, 1).toString('base64')}` } }, 'media_too_large'],
    [
      'a type not allowed',
      { type: 'file', file: { filename: 'a.zip', file_data: `data:application/zip;base64,${Buffer.from('PK\u0003\u0004').toString('base64')}` } },
      'unsupported_media_type',
    ],
    ['not a URL', { type: 'image_url', image_url: { url: 'file:///etc/passwd' } }, 'invalid_media'],
    ['an audio format other than wav and mp3', { type: 'input_audio', input_audio: { data: 'AAAA', format: 'flac' } }, 'invalid_value'],
    ['wav audio whose bytes are a PNG', { type: 'input_audio', input_audio: { data: PNG.toString('base64'), format: 'wav' } }, 'invalid_media'],
    ['audio too large', { type: 'input_audio', input_audio: { data: Buffer.alloc(5000, 1).toString('base64'), format: 'mp3' } }, 'media_too_large'],
    ['a file known only by file_id', { type: 'file', file: { file_id: 'file-abc' } }, 'unsupported_content'],
  ])('bad media (%s) is a 400 before any upstream call', async (_n, part, code) => {
    const res = await chat({ model: 'gpt-4o', messages: [{ role: 'user', content: [part] }] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ type: 'invalid_request_error', code, param: expect.stringMatching(/^messages\[0\]\.content/) });
    expect(stack.sim.stats().sessionsCreated).toBe(0);
  });

  it('a file the upstream refuses is a 400 (no key blamed); an upstream upload failure a 502 naming the file', async () => {
    const dog = { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://e.example/dog.jpg' } }] }] };
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 400, on: 'media', body: { errorCode: 'invalid_request', message: 'unsupported file' } });
    const refused = await chat(dog);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('unsupported file');
    expect(allKeysActive()).toBe(true);
    stack.sim.reset();
    // last in this file: an upstream 5xx cools the keys down like any 5xx
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 500, on: 'media' });
    const down = await chat(dog);
    expect(down.status).toBe(502);
    expect(down.json.error.message).toContain('uploading "dog.jpg"');
    expect(stack.sim.stats().queries).toBe(0);
  });
});

describe('without the catalogue', () => {
  it('CATALOGUE_REFRESH_SEC=0: the built-in table serves /v1/models', async () => {
    const s = await startStack({ env: { CATALOGUE_REFRESH_SEC: '0', AUTO_MODEL_NAME: 'off' } });
    try {
      expect(s.gateway.models.router.loadedAt()).toBeNull();
      const res = await fetch(`${s.baseURL}/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      const ids = ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
      expect(ids).toContain('grok-4');
      expect(ids).not.toContain('auto');
      expect(ids.length).toBe(20);
    } finally {
      await s.close();
    }
  });
});
