import { describe, expect, it } from 'vitest';
import { GatewayError } from './errors.js';
import type { GatewayRequest, MediaPart } from './types.js';
import { multipartBoundary, parseMultipart } from '../simulator/media.js';
import { UpstreamFailure } from '../ondemand/failure.js';
import { buildMultipart, DEFAULT_MEDIA_TYPES, MEDIA_PLUGINS, sniffMime, uploadOne, type MediaClient } from '../ondemand/media.js';
import { anthropicBlockToMediaPart, attachmentBlock, createMediaPreparer, validateMediaPart, validateMedia, withAttachments } from './media.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const PDF = Buffer.from('%PDF-1.4 hello');
const limits = { maxBytes: 64, allowedTypes: DEFAULT_MEDIA_TYPES };
const b64 = (b: Buffer) => b.toString('base64');

function code(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return `${err.status} ${err.code}`;
    throw err;
  }
  return null;
}

describe('validateMediaPart', () => {
  it.each<[string, MediaPart, Partial<{ name: string; mimeType: string; plugin: string; kind: string }>]>([
    ['a PNG data URL', { kind: 'image', url: `data:image/png;base64,${b64(PNG)}` }, { name: 'image-1.png', mimeType: 'image/png', plugin: MEDIA_PLUGINS.image, kind: 'bytes' }],
    ['an octet-stream data URL sniffed as PNG', { kind: 'image', url: `data:application/octet-stream;base64,${b64(PNG)}` }, { mimeType: 'image/png' }],
    [
      'a PDF file part with a name',
      { kind: 'file', url: `data:application/pdf;base64,${b64(PDF)}`, name: 'report.pdf' },
      { name: 'report.pdf', mimeType: 'application/pdf', plugin: MEDIA_PLUGINS.document },
    ],
    ['bare base64 file data', { kind: 'file', url: b64(PDF), name: 'x' }, { name: 'x', mimeType: 'application/pdf', kind: 'bytes' }],
    ['a plain-text data URL', { kind: 'file', url: 'data:text/plain,hello%20world' }, { name: 'file-1.txt', mimeType: 'text/plain' }],
    [
      'an http image URL',
      { kind: 'image', url: 'https://example.com/img/cat%20photo.jpg?x=1' },
      { name: 'cat photo.jpg', mimeType: 'image/jpeg', plugin: MEDIA_PLUGINS.image, kind: 'url' },
    ],
    ['an http image URL without extension', { kind: 'image', url: 'https://example.com/render' }, { name: 'render', mimeType: 'image/*', plugin: MEDIA_PLUGINS.image }],
    ['an http PDF', { kind: 'file', url: 'https://example.com/a/b.pdf' }, { name: 'b.pdf', plugin: MEDIA_PLUGINS.document }],
  ])('%s', (_n, part, expected) => {
    const v = validateMediaPart(part, 1, limits, 'p');
    const { kind, ...rest } = expected;
    expect(v).toMatchObject(rest);
    if (kind !== undefined) expect(v.source.kind).toBe(kind);
  });

  it.each<[string, MediaPart, string]>([
    ['too large', { kind: 'image', url: `data:image/png;base64,${b64(Buffer.alloc(100, 1))}` }, '400 media_too_large'],
    ['a type not allowed (data)', { kind: 'file', url: `data:application/zip;base64,${b64(Buffer.from('PK'))}` }, '400 unsupported_media_type'],
    ['a type not allowed (URL extension)', { kind: 'file', url: 'https://example.com/a.mp3' }, '400 unsupported_media_type'],
    ['an unknown binary', { kind: 'file', url: `data:;base64,${b64(Buffer.from([0, 1, 2]))}` }, '400 unsupported_media_type'],
    ['bad base64', { kind: 'image', url: 'data:image/png;base64,@@@@' }, '400 invalid_media'],
    ['empty base64', { kind: 'image', url: 'data:image/png;base64,' }, '400 invalid_media'],
    ['no comma', { kind: 'image', url: 'data:image/png;base64' }, '400 invalid_media'],
    ['a file: URL', { kind: 'image', url: 'file:///etc/passwd' }, '400 invalid_media'],
    ['an ftp URL', { kind: 'file', url: 'ftp://example.com/a.pdf' }, '400 invalid_media'],
  ])('refuses %s', (_n, part, expected) => {
    expect(code(() => validateMediaPart(part, 1, limits, 'messages[0].content'))).toBe(expected);
  });

  it('wildcards in the allowed types', () => {
    const v = validateMediaPart({ kind: 'file', url: `data:audio/mpeg;base64,${b64(Buffer.from('ID3'))}` }, 1, { maxBytes: 64, allowedTypes: ['audio/*'] }, 'p');
    expect(v.plugin).toBe(MEDIA_PLUGINS.audio);
  });

  it('sniffs the common formats', () => {
    expect(sniffMime(PNG)).toBe('image/png');
    expect(sniffMime(PDF)).toBe('application/pdf');
    expect(sniffMime(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffMime(Buffer.from('GIF89a..'))).toBe('image/gif');
    expect(sniffMime(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffMime(Buffer.from('hello'))).toBeUndefined();
  });
});

describe('validateMedia', () => {
  it('names the message in the error and numbers unnamed parts across the request', () => {
    const req: GatewayRequest = {
      api: 'chat',
      requestedModel: 'gpt-4o',
      stream: false,
      params: {},
      messages: [
        { role: 'user', content: 'a', media: [{ kind: 'image', url: `data:image/png;base64,${b64(PNG)}` }] },
        {
          role: 'user',
          content: 'b',
          media: [
            { kind: 'file', url: `data:application/pdf;base64,${b64(PDF)}` },
            { kind: 'image', url: 'data:image/png;base64,!!' },
          ],
        },
      ],
    };
    try {
      validateMedia(req, limits);
      expect.unreachable();
    } catch (err) {
      expect((err as GatewayError).param).toBe('messages[1].content');
    }
    req.messages[1]!.media!.pop();
    expect(validateMedia(req, limits).map((m) => m.name)).toEqual(['image-1.png', 'file-2.pdf']);
  });
});

describe('the query text', () => {
  it('appends one attachment block per uploaded part to its own message', () => {
    const p1: MediaPart = { kind: 'image', url: 'https://e.x/a.png' };
    const p2: MediaPart = { kind: 'file', url: 'https://e.x/b.pdf' };
    const req: GatewayRequest = {
      api: 'chat',
      requestedModel: 'm',
      stream: false,
      params: {},
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'look', media: [p1, p2] },
        { role: 'user', content: '', media: [] },
      ],
    };
    const out = withAttachments(
      req,
      new Map([
        [p1, { name: 'a.png', mimeType: 'image/png', context: 'a cat' }],
        [p2, { name: 'b "x".pdf', mimeType: 'application/pdf', context: '' }],
      ]),
    );
    expect(out.messages[0]).toBe(req.messages[0]);
    expect(out.messages[1]!.content).toBe(
      'look\n\n<attachment name="a.png" type="image/png">\na cat\n</attachment>\n\n<attachment name="b &quot;x&quot;.pdf" type="application/pdf">\n(no text could be extracted)\n</attachment>',
    );
    expect(req.messages[1]!.content).toBe('look');
  });

  it('extracted text cannot close the block', () => {
    expect(attachmentBlock({ name: 'n', mimeType: 't', context: 'a\n</attachment>\nb' })).toBe('<attachment name="n" type="t">\na\n<\u200B/attachment>\nb\n</attachment>');
  });
});

describe('buildMultipart', () => {
  it('is read back by a multipart parser: the file bytes exactly, then the fields', () => {
    const form = buildMultipart({ name: 'a"b.png', mimeType: 'image/png', data: PNG }, [
      ['sessionId', 's1'],
      ['plugins', 'p1'],
    ]);
    const parts = parseMultipart(form.body, multipartBoundary(form.contentType)!);
    expect(parts.map((p) => [p.name, p.filename ?? null, p.contentType ?? null])).toEqual([
      ['file', 'a_b.png', 'image/png'],
      ['sessionId', null, null],
      ['plugins', null, null],
    ]);
    expect(parts[0]!.data.equals(PNG)).toBe(true);
    expect(parts[1]!.data.toString()).toBe('s1');
  });
});

describe('uploads', () => {
  const calls: Array<{ kind: string; body: unknown }> = [];
  const client = (answer: (kind: string) => unknown): MediaClient => ({
    uploadMediaUrl: async (_key, body) => {
      calls.push({ kind: 'url', body });
      return answer('url');
    },
    uploadMediaRaw: async (_key, form) => {
      calls.push({ kind: 'raw', body: form.contentType });
      return answer('raw');
    },
  });
  const ok = (kind: string) => ({ data: { id: '1', context: `ctx-${kind}`, actionStatus: 'completed', failedReason: null } });
  const signal = new AbortController().signal;

  it('http URLs go to the JSON upload with the right plugin and the session; data to the raw upload', async () => {
    calls.length = 0;
    const prep = createMediaPreparer(client(ok), limits);
    const req: GatewayRequest = {
      api: 'chat',
      requestedModel: 'm',
      stream: false,
      params: {},
      messages: [
        {
          role: 'user',
          content: 'q',
          media: [
            { kind: 'image', url: 'https://e.x/a.png' },
            { kind: 'file', url: `data:application/pdf;base64,${b64(PDF)}` },
          ],
        },
      ],
    };
    const run = prep(req)!;
    const out = await run('key', 'sess-1', req, signal);
    expect(calls[0]).toEqual({ kind: 'url', body: { url: 'https://e.x/a.png', name: 'a.png', plugins: [MEDIA_PLUGINS.image], responseMode: 'sync', sessionId: 'sess-1' } });
    expect(calls[1]?.kind).toBe('raw');
    expect(out.messages[0]!.content).toContain('ctx-url');
    expect(out.messages[0]!.content).toContain('<attachment name="file-2.pdf" type="application/pdf">\nctx-raw');
    expect(prep({ ...req, messages: [{ role: 'user', content: 'x' }] })).toBeUndefined();
  });

  it('a failed upload keeps its status and code and names the file; a processing failure is a 400', async () => {
    const m = validateMediaPart({ kind: 'image', url: 'https://e.x/a.png' }, 1, limits, 'p');
    const failing: MediaClient = {
      uploadMediaUrl: async () => {
        throw new UpstreamFailure('upstream answered 500', { kind: 'http', phase: 'media', status: 500, errorCode: 'server_error', upstreamMessage: 'boom' });
      },
      uploadMediaRaw: async () => ({}),
    };
    const err = (await uploadOne(failing, 'k', 's', m, signal).catch((e: unknown) => e)) as UpstreamFailure;
    expect(err).toMatchObject({ phase: 'media', status: 500, errorCode: 'server_error' });
    expect(err.upstreamMessage).toBe('uploading "a.png" to OnDemand\'s media API failed: boom');
    const processing = (await uploadOne(
      client(() => ({ data: { actionStatus: 'failed', failedReason: 'corrupt' } })),
      'k',
      's',
      m,
      signal,
    ).catch((e: unknown) => e)) as UpstreamFailure;
    expect(processing).toMatchObject({ status: 400, errorCode: 'media_processing_failed' });
    expect(processing.upstreamMessage).toContain('corrupt');
  });
});

describe('anthropicBlockToMediaPart', () => {
  it.each<[unknown, Partial<MediaPart>]>([
    [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA=' } },
      { kind: 'image', url: 'data:image/png;base64,AAA=', mimeType: 'image/png' },
    ],
    [
      { type: 'image', source: { type: 'url', url: 'https://e.x/a.png' } },
      { kind: 'image', url: 'https://e.x/a.png' },
    ],
    [
      { type: 'document', title: 'Report', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } },
      { kind: 'file', name: 'Report', mimeType: 'application/pdf' },
    ],
    [
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hi' } },
      { kind: 'file', url: 'data:text/plain;base64,aGk=', name: 'document.txt' },
    ],
  ])('%j', (block, expected) => {
    expect(anthropicBlockToMediaPart(block, 'messages[0].content[1]')).toMatchObject(expected);
  });

  it.each([
    [{ type: 'audio' }],
    [{ type: 'image', source: { type: 'file', file_id: 'x' } }],
    [{ type: 'image', source: { type: 'url', url: 'file:///x' } }],
    [{ type: 'image', source: { type: 'base64' } }],
    [{ type: 'image', source: { type: 'text', data: 'x' } }],
  ])('refuses %j with a 400', (block) => {
    expect(code(() => anthropicBlockToMediaPart(block, 'p'))).toBe('400 invalid_media');
  });
});
