// POST /v1/predict on golden case 10 (a Llama with adapters 'first' and 'second', written by Python PEFT):
// per-adapter logits, equality with `node-peft predict`, and concurrent mixed requests batched into one forward.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runPredict } from '../../lib/cli/predict.js';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import type { NestedNumbers } from '../../lib/tensor/tensor.js';
import { batching as workerBatching, CASE_10, maxAbsDiff, nested, post, workerLiveTensors } from './helpers.js';

const ADAPTERS = join(CASE_10, 'adapter');
const inputs = nested(join(CASE_10, 'inputs.safetensors'));
const expected = nested(join(CASE_10, 'expected.safetensors'));
const outDir = mkdtempSync(join(tmpdir(), 'node-peft-serve-'));
let server: RunningServer;

beforeAll(async () => {
  // a wide window, so that concurrent requests of a test reliably share a batch
  server = await serve({ model: join(CASE_10, 'base'), adapters: [['first', join(ADAPTERS, 'first')], ['second', join(ADAPTERS, 'second')]], batchWindowMs: 100, threads: 1 });
});

afterAll(async () => {
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
});

const predict = (adapter: string | null, input_ids: NestedNumbers[]) => post(`${server.url}/v1/predict`, { adapter, inputs: { input_ids } });
const row = (i: number): NestedNumbers[] => [inputs.input_ids[i]];
const batching = () => workerBatching(server);

/** `node-peft predict` on the case's inputs, as nested arrays. */
async function cliLogits(adapters: [string, string][]): Promise<NestedNumbers[]> {
  const out = join(outDir, `${adapters.map(([n]) => n).join('-') || 'base'}.safetensors`);
  await runPredict({ model: join(CASE_10, 'base'), adapters, adapterNames: null, inputs: join(CASE_10, 'inputs.safetensors'), out });
  return nested(out).logits;
}

describe('POST /v1/predict on a Llama with two adapters', () => {
  test.each([
    ['first', 'logits_peft.first'],
    ['second', 'logits_peft.second'],
    [null, 'logits_base'],
  ])('adapter %s: the logits PEFT computed, within 1e-4', async (adapter, key) => {
    const reply = await predict(adapter, inputs.input_ids);
    expect(reply.status).toBe(200);
    expect(maxAbsDiff(reply.body.logits as NestedNumbers[], expected[key])).toBeLessThanOrEqual(1e-4);
  });

  test('the same numbers as node-peft predict, for an adapter and for the base model', async () => {
    const [withFirst, base] = await Promise.all([predict('first', inputs.input_ids), predict(null, inputs.input_ids)]);
    expect(withFirst.body.logits).toEqual(await cliLogits([['first', join(ADAPTERS, 'first')]]));
    expect(base.body.logits).toEqual(await cliLogits([]));
  });

  test('concurrent single-row requests for different adapters run as one mixed batch and get their own rows', async () => {
    const adapters = ['first', null, 'second', 'first'];
    const alone: NestedNumbers[][] = [];
    for (let i = 0; i < adapters.length; i++) alone.push((await predict(adapters[i], row(i))).body.logits as NestedNumbers[]);
    const before = await batching();
    const together = await Promise.all(adapters.map((adapter, i) => predict(adapter, row(i))));
    const after = await batching();
    expect(after.batches - before.batches).toBe(1);
    expect(after.mixed_batches - before.mixed_batches).toBe(1);
    expect(after.batched_requests - before.batched_requests).toBe(4);
    together.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      const logits = reply.body.logits as NestedNumbers[];
      expect(logits).toHaveLength(1);
      expect(maxAbsDiff(logits, alone[i])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(logits[0], expected.logits_mixed[i])).toBeLessThanOrEqual(1e-4);
    });
  });

  test('requests with different sequence lengths are not batched together, and each is still right', async () => {
    const before = await batching();
    const short = inputs.input_ids.map((r) => (r as number[]).slice(0, 4));
    const [full, cut] = await Promise.all([predict('second', row(2)), predict('second', [short[2]])]);
    const after = await batching();
    expect(after.batches - before.batches).toBe(2);
    expect((cut.body.logits as number[][][])[0]).toHaveLength(4);
    expect(maxAbsDiff((full.body.logits as number[][][])[0].slice(0, 4), (cut.body.logits as number[][][])[0])).toBeLessThanOrEqual(1e-5);
  });

  test('200 requests keep the number of live tensors flat', async () => {
    const adapters = ['first', 'second', null, 'first', 'second'];
    await Promise.all(adapters.map((a, i) => predict(a, row(i % 4)))); // warm-up
    const live = await workerLiveTensors(server);
    for (let round = 0; round < 40; round++) {
      const replies = await Promise.all(adapters.map((a, i) => predict(a, row((round + i) % 4))));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    }
    expect(await workerLiveTensors(server)).toBe(live);
  });
});
