// Limits and safety: a full queue is 429 with Retry-After, a request past its timeout is stopped, adapter paths
// cannot escape the adapter root through a symlink, a broken adapter file is never echoed, the exposure warning.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exposureWarning, serve, type RunningServer } from '../../lib/serve/index.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'serve');
const root = mkdtempSync(join(tmpdir(), 'node-peft-root-'));
let server: RunningServer;

beforeAll(async () => {
  symlinkSync(join(FIXTURE, 'adapters', 'ad0'), join(root, 'inside-link')); // the root holds a link out of it
  symlinkSync(join(FIXTURE, 'adapters'), join(root, 'nested'));
  mkdirSync(join(root, 'broken'));
  writeFileSync(join(root, 'broken', 'adapter_config.json'), '{"r": 4, "secret_token": "SECRET-CONTENT-1234567890" oops}');
  writeFileSync(join(root, 'broken', 'adapter_model.safetensors'), 'not safetensors');
  server = await serve({ model: join(FIXTURE, 'base'), adapterRoot: root, threads: 1, maxQueuedRequests: 2, requestTimeoutMs: 40 });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const complete = (body: Record<string, unknown>) =>
  fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'base', prompt: [5, 6, 7], temperature: 0, ...body }) });

describe('limits', () => {
  test('past the queue cap a request gets 429 with Retry-After; a request past its timeout gets 504', async () => {
    const replies = await Promise.all([0, 1, 2, 3].map(() => complete({ max_tokens: 240 })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    const refused = replies.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(((await refused?.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    const timedOut = replies.find((r) => r.status !== 429);
    expect(timedOut?.status).toBe(504);
    expect(server.worker.activeGenerations).toBe(0);
  });
});

describe('adapter root', () => {
  test('a symlink out of the root is 403, whether named as model or loaded by path', async () => {
    const named = await complete({ model: 'inside-link', max_tokens: 1 });
    expect(named.status).toBe(403);
    const loaded = await fetch(`${server.url}/v1/load_lora_adapter`, { method: 'POST', body: JSON.stringify({ lora_name: 'x', lora_path: join(root, 'nested', 'ad1') }) });
    expect(loaded.status).toBe(403);
  });

  test('an adapter whose files are broken is a 400 that does not echo their content', async () => {
    const reply = await complete({ model: 'broken', max_tokens: 1 });
    expect(reply.status).toBe(400);
    const text = await reply.text();
    expect(text).toMatch(/adapter \\"broken\\" cannot be loaded/);
    expect(text).not.toMatch(/SECRET|oops/);
  });
});

describe('exposure warning', () => {
  test('warns for a non-loopback host without a key, not on loopback or with a key', () => {
    expect(exposureWarning('0.0.0.0', false)).toMatch(/^warning: serving on 0\.0\.0\.0 without an API key/);
    expect(exposureWarning('0.0.0.0', true)).toBeNull();
    expect(exposureWarning('127.0.0.1', false)).toBeNull();
    expect(exposureWarning('::1', false)).toBeNull();
  });
});
