import { describe, expect, it } from 'vitest';
import { GatewayError } from './errors.js';
import type { GatewayRequest, MediaPart } from './types.js';
import { multipartBoundary, parseMultipart } from '../simulator/media.js';
import { UpstreamFailure } from '../ondemand/failure.js';
import { buildMultipart, DEFAULT_MEDIA_TYPES, MEDIA_PLUGINS, sniffMime } from '../ondemand/media.js';
import { type MediaClient, mediaUploader, uploadOne } from '../upstream/media-upload.js';
import { attachmentBlock, audioOutputRefusal, createMediaPreparer, fileIdRefusal, inputAudioToMediaPart, validateMediaPart, validateMedia, withAttachments } from './media.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const PDF = Buffer.from('%PDF-1.4 hello');
/** A RIFF/WAVE header and a few samples: what the sniffer recognises as WAV. */
const WAV = Buffer.concat([Buffer.from('RIFF'), Buffer.from([36, 0, 0, 0]), Buffer.from('WAVEfmt '), Buffer.alloc(8, 1)]);
/** An MPEG-1 layer III frame header (0xFFFB) and a little payload, no ID3 tag. */
const MP3 = Buffer.from([0xff, 0xfb, 0x90, 0x44, 0, 0, 0, 0]);
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
    [
      'wav input audio',
      { kind: 'audio', url: `data:audio/wav;base64,${b64(WAV)}`, mimeType: 'audio/wav' },
      { name: 'audio-1.wav', mimeType: 'audio/wav', plugin: MEDIA_PLUGINS.audio, kind: 'bytes' },
    ],
    [
      'mp3 input audio',
      { kind: 'audio', url: `data:audio/mpeg;base64,${b64(MP3)}`, mimeType: 'audio/mpeg' },
      { name: 'audio-1.mp3', mimeType: 'audio/mpeg', plugin: MEDIA_PLUGINS.audio },
    ],
    ['audio whose bytes say nothing', { kind: 'audio', url: 'data:audio/wav;base64,AAAA', mimeType: 'audio/wav' }, { name: 'audio-1.wav', plugin: MEDIA_PLUGINS.audio }],
    [
      'an mp3 file part',
      { kind: 'file', url: `data:;base64,${b64(Buffer.concat([Buffer.from('ID3'), MP3]))}`, name: 'talk.mp3' },
      { mimeType: 'audio/mpeg', plugin: MEDIA_PLUGINS.audio },
    ],
  ])('%s', (_n, part, expected) => {
    const v = validateMediaPart(part, 1, limits, 'p');
    const { kind, ...rest } = expected;
    expect(v).toMatchObject(rest);
    if (kind !== undefined) expect(v.source.kind).toBe(kind);
  });

  it.each<[string, MediaPart, string]>([
    ['too large', { kind: 'image', url: `data:image/png;base64,${b64(Buffer.alloc(100, 1))}` }, '400 media_too_large'],
    ['a type not allowed (data)', { kind: 'file', url: `data:application/zip;base64,${b64(Buffer.from('PK'))}` }, '400 unsupported_media_type'],
    ['an unknown binary', { kind: 'file', url: `data:;base64,${b64(Buffer.from([0, 1, 2]))}` }, '400 unsupported_media_type'],
    ['bad base64', { kind: 'image', url: 'data:image/png;base64,@@@@' }, '400 invalid_media'],
    ['empty base64', { kind: 'image', url: 'data:image/png;base64,' }, '400 invalid_media'],
    ['no comma', { kind: 'image', url: 'data:image/png;base64' }, '400 invalid_media'],
    ['a file: URL', { kind: 'image', url: 'file:///etc/passwd' }, '400 invalid_media'],
    ['an ftp URL', { kind: 'file', url: 'ftp://example.com/a.pdf' }, '400 invalid_media'],
    ['wav audio that is an mp3', { kind: 'audio', url: `data:audio/wav;base64,${b64(MP3)}`, mimeType: 'audio/wav' }, '400 invalid_media'],
    ['mp3 audio that is a PNG', { kind: 'audio', url: `data:audio/mpeg;base64,${b64(PNG)}`, mimeType: 'audio/mpeg' }, '400 invalid_media'],
    ['audio too large', { kind: 'audio', url: `data:audio/wav;base64,${b64(Buffer.alloc(100, 1))}`, mimeType: 'audio/wav' }, '400 media_too_large'],
    ['empty audio', { kind: 'audio', url: 'data:audio/wav;base64,', mimeType: 'audio/wav' }, '400 invalid_media'],
  ])('refuses %s', (_n, part, expected) => {
    expect(code(() => validateMediaPart(part, 1, limits, 'messages[0].content'))).toBe(expected);
  });

  it('audio is refused when MEDIA_ALLOWED_TYPES leaves it out, by data and by a URL’s extension', () => {
    const noAudio = { maxBytes: 64, allowedTypes: ['image/*', 'application/pdf'] };
    expect(code(() => validateMediaPart({ kind: 'audio', url: `data:audio/wav;base64,${b64(WAV)}`, mimeType: 'audio/wav' }, 1, noAudio, 'p'))).toBe('400 unsupported_media_type');
    expect(code(() => validateMediaPart({ kind: 'file', url: 'https://example.com/a.mp3' }, 1, noAudio, 'p'))).toBe('400 unsupported_media_type');
  });

  it('says which format an audio part claimed and what its bytes are', () => {
    expect(() => validateMediaPart({ kind: 'audio', url: `data:audio/wav;base64,${b64(MP3)}`, mimeType: 'audio/wav' }, 1, limits, 'p')).toThrow(
      'An audio part says its format is wav, but its data is audio/mpeg.',
    );
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
    expect(sniffMime(WAV)).toBe('audio/wav');
    expect(sniffMime(MP3)).toBe('audio/mpeg');
    expect(sniffMime(Buffer.from('ID3\u0004\u0000'))).toBe('audio/mpeg');
    // AAC's ADTS header shares the sync bits but has layer 00; JPEG's marker fails the sync
    expect(sniffMime(Buffer.from([0xff, 0xf1, 0x50, 0x80]))).toBeUndefined();
    expect(sniffMime(Buffer.from([0xff, 0xd8, 0xff, 0xfb]))).toBe('image/jpeg');
  });
});

describe('inputAudioToMediaPart', () => {
  it.each<[string, string, MediaPart]>([
    ['AAAA', 'wav', { kind: 'audio', url: 'data:audio/wav;base64,AAAA', mimeType: 'audio/wav' }],
    [' AAAA\n', 'mp3', { kind: 'audio', url: 'data:audio/mpeg;base64,AAAA', mimeType: 'audio/mpeg' }],
    ['AAAA', 'WAV', { kind: 'audio', url: 'data:audio/wav;base64,AAAA', mimeType: 'audio/wav' }],
    ['data:audio/mpeg;base64,AAAA', 'mp3', { kind: 'audio', url: 'data:audio/mpeg;base64,AAAA', mimeType: 'audio/mpeg' }],
  ])('%j as %s', (data, format, expected) => {
    expect(inputAudioToMediaPart(data, format, 'messages[0].content[1].input_audio')).toEqual(expected);
  });

  it.each(['flac', 'ogg', 'm4a', 'pcm16', ''])('refuses the format %j, naming it and the accepted ones', (format) => {
    const param = 'messages[0].content[1].input_audio';
    expect(() => inputAudioToMediaPart('AAAA', format, param)).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_value',
        param: `${param}.format`,
        message: `Invalid '${param}.format': '${format}'. Audio input is accepted as 'wav', 'mp3'.`,
      }),
    );
  });
});

describe('refusals name what they refuse', () => {
  it.each<[string, GatewayError, { param: string; code: string; message: RegExp }]>([
    ['a file_id', fileIdRefusal('file-9', 'p'), { param: 'p', code: 'unsupported_content', message: /file_id 'file-9'.*cannot fetch.*file_data/ }],
    ['a file part without file_id or file_data', fileIdRefusal(undefined, 'p'), { param: 'p', code: 'unsupported_content', message: /without file_data/ }],
    [
      'audio output',
      audioOutputRefusal('modalities'),
      { param: 'modalities', code: 'unsupported_value', message: /^Audio output \('modalities'\) is not supported: OnDemand answers in text/ },
    ],
  ])('%s', (_n, err, expected) => {
    expect(err).toMatchObject({ status: 400, param: expected.param, code: expected.code });
    expect(err.message).toMatch(expected.message);
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
    const prep = createMediaPreparer(mediaUploader(client(ok)), limits);
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

  it('an audio part goes to the raw upload as one file with its type, the audio plugin and the session', async () => {
    const forms: Array<{ body: Buffer; contentType: string }> = [];
    const recording: MediaClient = {
      uploadMediaUrl: async () => expect.unreachable(),
      uploadMediaRaw: async (_key, form) => {
        forms.push(form);
        return { data: { id: '1', context: 'hello from the recording', actionStatus: 'completed' } };
      },
    };
    const req: GatewayRequest = {
      api: 'chat',
      requestedModel: 'm',
      stream: false,
      params: {},
      messages: [{ role: 'user', content: 'What is said?', media: [inputAudioToMediaPart(b64(WAV), 'wav', 'p')] }],
    };
    const out = await createMediaPreparer(mediaUploader(recording), limits)(req)!('key', 'sess-a', req, signal);
    expect(forms).toHaveLength(1);
    const parts = parseMultipart(forms[0]!.body, multipartBoundary(forms[0]!.contentType)!);
    const field = (name: string) => parts.filter((p) => p.name === name && p.filename === undefined).map((p) => p.data.toString());
    expect(parts[0]).toMatchObject({ name: 'file', filename: 'audio-1.wav', contentType: 'audio/wav' });
    expect(parts[0]!.data.equals(WAV)).toBe(true);
    expect({ plugins: field('plugins'), sessionId: field('sessionId'), responseMode: field('responseMode') }).toEqual({
      plugins: [MEDIA_PLUGINS.audio],
      sessionId: ['sess-a'],
      responseMode: ['sync'],
    });
    expect(out.messages[0]!.content).toBe('What is said?\n\n<attachment name="audio-1.wav" type="audio/wav">\nhello from the recording\n</attachment>');
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
