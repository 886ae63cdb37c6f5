// A bounded W7-like load over loopback: 8 adapters from an adapter root with room for only 3 in memory,
// 32 concurrent clients. Every request returns exactly what it returns served alone, adapters are evicted
// and reloaded under the LRU without losing a request, and /health keeps answering while the model is busy.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { metric } from './helpers.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'serve');
const REQUESTS = 64;
const CLIENTS = 32;
let server: RunningServer;

beforeAll(async () => {
  server = await serve({ model: join(FIXTURE, 'base'), adapterRoot: join(FIXTURE, 'adapters'), maxLoadedAdapters: 3, threads: 1, maxNumSeqs: 32 });
});
afterAll(() => server.close());

const requestBody = (i: number) => ({
  model: i % 9 === 8 ? 'base' : `ad${i % 9}`,
  prompt: Array.from({ length: 8 + (i % 11) }, (_, j) => (i * 31 + j * 7) % 380),
  max_tokens: 6 + (i % 5),
  temperature: 0,
});

async function complete(i: number): Promise<{ status: number; text: string; tokens: number }> {
  const response = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(requestBody(i)) });
  const body = (await response.json()) as { choices: { text: string }[]; usage: { completion_tokens: number } };
  return { status: response.status, text: body.choices?.[0]?.text, tokens: body.usage?.completion_tokens };
}

describe('W7-like load', () => {
  test('64 requests from 32 clients over 8 adapters (3 in memory): each as served alone; LRU evictions; /health answers', async () => {
    const alone: { status: number; text: string; tokens: number }[] = [];
    for (let i = 0; i < REQUESTS; i++) alone.push(await complete(i));
    expect(alone.every((r) => r.status === 200)).toBe(true);
    expect(new Set(alone.map((r) => r.text)).size).toBeGreaterThan(REQUESTS / 2);
    const evictionsBefore = await metric(server, 'nodepeft_adapter_evictions_total');

    const health: number[] = [];
    let running = true;
    const poll = (async () => {
      while (running) {
        const started = performance.now();
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        health.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let next = 0;
    const together = new Array<{ status: number; text: string; tokens: number }>(REQUESTS);
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        together[i] = await complete(i);
      }
    }));
    running = false;
    await poll;

    together.forEach((reply, i) => expect(reply, `request ${i}`).toEqual(alone[i]));
    expect(await metric(server, 'nodepeft_adapter_evictions_total')).toBeGreaterThan(evictionsBefore);
    expect(health.length).toBeGreaterThan(0);
    // a behaviour check with a generous bound (the model's steps run on the worker thread, not this one)
    expect(Math.max(...health)).toBeLessThan(1000);
    const batchRows = await metric(server, 'nodepeft_step_batch_size_sum');
    const steps = await metric(server, 'nodepeft_step_batch_size_count');
    expect(batchRows / steps).toBeGreaterThan(1.5); // sequences really decoded together
  });
});
