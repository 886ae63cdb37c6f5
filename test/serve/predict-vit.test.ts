// The server on golden case 01 (ViT + LoRA + a modules_to_save classifier): predict with the adapter and the base
// model, a transformers-4-era adapter of the same case, batching of equal-shape requests, adapters over HTTP.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import type { NestedNumbers } from '../../lib/tensor/tensor.js';
import { batching, CASE_01, CASE_01_T4, get, maxAbsDiff, nested, post, request } from './helpers.js';

const inputs = nested(join(CASE_01, 'inputs.safetensors'));
const expected = nested(join(CASE_01, 'expected.safetensors'));
let server: RunningServer;

beforeAll(async () => {
  server = await serve({ model: join(CASE_01, 'base'), adapters: [['digits', join(CASE_01, 'adapter')]], batchWindowMs: 200, threads: 1 }); // wide: request bodies are parsed on the HTTP thread while the worker's window runs
});
afterAll(() => server.close());

const predict = (adapter: string | null, pixel_values: NestedNumbers[]) => post(`${server.url}/v1/predict`, { adapter, inputs: { pixel_values } });

describe('serve on a ViT classifier', () => {
  test('the URL is on the loopback interface with an ephemeral port', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
  });

  test('GET /health names the model and counts the adapters', async () => {
    expect(await get(`${server.url}/health`)).toEqual({ status: 200, body: { status: 'ok', model: 'ViTForImageClassification', adapters: 1, generating: 0 } });
  });

  test('predict with the adapter and with null (the base model) gives the logits PEFT computed', async () => {
    const [peft, base] = await Promise.all([predict('digits', inputs.pixel_values), predict(null, inputs.pixel_values)]);
    expect(maxAbsDiff(peft.body.logits as NestedNumbers[], expected.logits_peft)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(base.body.logits as NestedNumbers[], expected.logits_base)).toBeLessThanOrEqual(1e-4);
  });

  test('two one-image requests at once share one forward (classifier copy per row) and match the two-image request', async () => {
    const before = await batching(server);
    const [a, b] = await Promise.all([predict('digits', [inputs.pixel_values[0]]), predict(null, [inputs.pixel_values[1]])]);
    const after = await batching(server);
    expect(after.batched_requests - before.batched_requests).toBe(2);
    expect(maxAbsDiff((a.body.logits as NestedNumbers[])[0], expected.logits_peft[0])).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff((b.body.logits as NestedNumbers[])[0], expected.logits_base[1])).toBeLessThanOrEqual(1e-4);
  });

  test('adapters are added, listed, replaced only on request, and deleted over HTTP', async () => {
    const url = `${server.url}/v1/adapters`;
    const added = await post(url, { name: 'again', path: join(CASE_01, 'adapter') });
    expect(added.status).toBe(201);
    expect(added.body.adapter).toMatchObject({ name: 'again', path: join(CASE_01, 'adapter'), r: 4, lora_alpha: 8 });
    expect(((await get(url)).body.adapters as { name: string }[]).map((a) => a.name)).toEqual(['digits', 'again']);
    expect(maxAbsDiff((await predict('again', inputs.pixel_values)).body.logits as NestedNumbers[], expected.logits_peft)).toBeLessThanOrEqual(1e-4);

    const twice = await post(url, { name: 'again', path: join(CASE_01, 'adapter') });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatch(/already loaded; delete it first or pass "replace": true/);
    expect((await post(url, { name: 'again', path: join(CASE_01, 'adapter'), replace: true })).status).toBe(201);

    expect(await request(`${url}/again`, 'DELETE')).toEqual({ status: 200, body: { deleted: 'again' } });
    expect((await predict('again', inputs.pixel_values)).status).toBe(404);
    expect((await request(`${url}/again`, 'DELETE')).status).toBe(404);
    expect(((await get(url)).body.adapters as { name: string }[]).map((a) => a.name)).toEqual(['digits']);
  });

  test('deleting the last adapter leaves the base model as loaded; loading it again works', async () => {
    expect((await request(`${server.url}/v1/adapters/digits`, 'DELETE')).status).toBe(200);
    expect(maxAbsDiff((await predict(null, inputs.pixel_values)).body.logits as NestedNumbers[], expected.logits_base)).toBeLessThanOrEqual(1e-4);
    expect((await post(`${server.url}/v1/adapters`, { name: 'digits', path: join(CASE_01, 'adapter') })).status).toBe(201);
    expect(maxAbsDiff((await predict('digits', inputs.pixel_values)).body.logits as NestedNumbers[], expected.logits_peft)).toBeLessThanOrEqual(1e-4);
  });

  test('an adapter that does not fit the model is a 400 that says why', async () => {
    const reply = await post(`${server.url}/v1/adapters`, { name: 'gpt2', path: join(CASE_01, '..', '05_gpt2_conv1d_fan_in_fan_out', 'adapter') });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^adapter "gpt2" cannot be loaded: /);
    expect(((await get(`${server.url}/v1/adapters`)).body.adapters as unknown[]).length).toBe(1);
  });
});

describe('an adapter written in transformers-4 names', () => {
  test('is loaded over HTTP and gives the logits PEFT computed', async () => {
    const legacy = await serve({ model: join(CASE_01_T4, 'base') });
    try {
      expect((await post(`${legacy.url}/v1/adapters`, { name: 'old', path: join(CASE_01_T4, 'adapter') })).status).toBe(201);
      const reply = await post(`${legacy.url}/v1/predict`, { adapter: 'old', inputs: nested(join(CASE_01_T4, 'inputs.safetensors')) });
      expect(maxAbsDiff(reply.body.logits as NestedNumbers[], nested(join(CASE_01_T4, 'expected.safetensors')).logits_peft)).toBeLessThanOrEqual(1e-4);
    } finally {
      await legacy.close();
    }
  });
});
