/**
 * The two curl examples of the Flask proxy this project grows from, exactly as its README shows them (Chinese
 * placeholders and all): its users copy them, so they must keep working. Only the placeholders are filled in, the
 * way a user does: the Space's address and the PRIVATE_KEY. Run with the real curl.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const run = promisify(execFile);

const CHAT_EXAMPLE = `curl -X POST https://<space-host>/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -H "X-API-KEY: <你的 PRIVATE_KEY>" \\
  -d '{
    "messages": [
      {"role": "user", "content": "你好"}
    ]
  }'`;

const MODELS_EXAMPLE = `curl -X GET https://<space-host>/v1/models \\
  -H "X-API-KEY: <你的 PRIVATE_KEY>"`;

/** The example as a user pastes it into a shell, with their address and key in place of the placeholders. */
async function curl(example: string, origin: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const command = `${example.replace('https://<space-host>', origin).replace('<你的 PRIVATE_KEY>', CLIENT_KEY)} -s -w '\\n%{http_code}'`;
  const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) as Record<string, unknown> };
}

describe("the original README's examples", () => {
  let stack: Stack;
  let strict: Stack;
  beforeAll(async () => {
    stack = await startStack();
    strict = await startStack({ env: { STRICT_MODELS: 'true' } });
  });
  afterAll(async () => {
    await stack?.close();
    await strict?.close();
  });

  it('the chat example, without a model, is answered by DEFAULT_MODEL', async () => {
    const { status, body } = await curl(CHAT_EXAMPLE, stack.url);
    expect(status).toBe(200);
    expect(body).toMatchObject({ object: 'chat.completion', model: stack.config.DEFAULT_MODEL });
    const choices = body['choices'] as Array<{ message: { role: string; content: string }; finish_reason: string }>;
    expect(choices[0]?.message.role).toBe('assistant');
    expect(choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(choices[0]?.finish_reason).toBe('stop');
    expect((stack.sim.stats().lastQuery as { query: string }).query).toBe('你好');
  });

  it('the models example lists the models', async () => {
    const { status, body } = await curl(MODELS_EXAMPLE, stack.url);
    expect(status).toBe(200);
    expect(body['object']).toBe('list');
    expect((body['data'] as Array<{ id: string }>).map((m) => m.id)).toContain(stack.config.DEFAULT_MODEL);
  });

  it('with STRICT_MODELS=true a request without a model stays a 400 naming `model`', async () => {
    const { status, body } = await curl(CHAT_EXAMPLE, strict.url);
    expect(status).toBe(400);
    expect(body['error']).toMatchObject({ param: 'model', code: 'missing_required_parameter', type: 'invalid_request_error' });
  });
});
