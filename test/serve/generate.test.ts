// POST /v1/generate: greedy gives the tokens of lib/models' generate() with the same adapter (or none); seeded
// sampling repeats.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fromPretrained, generate, type GenerationOptions, type PreTrainedModel } from '../../lib/models/index.js';
import { PeftModel } from '../../lib/peft/index.js';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { tensor } from '../../lib/tensor/creation.js';
import { CASE_10, metric, post, workerLiveTensors } from './helpers.js';

const ADAPTERS = join(CASE_10, 'adapter');
const prompt = [5, 17, 42, 8];
let server: RunningServer;
let reference: PeftModel;

beforeAll(async () => {
  server = await serve({ model: join(CASE_10, 'base'), adapters: [['first', join(ADAPTERS, 'first')], ['second', join(ADAPTERS, 'second')]], threads: 1 });
  reference = await PeftModel.fromPretrained(await fromPretrained(join(CASE_10, 'base')), join(ADAPTERS, 'second'), { adapterName: 'second' });
});
afterAll(async () => {
  await server.close();
  reference.dispose();
});

/** lib/models generate() on the reference model: the new tokens. */
function expectedTokens(adapter: 'second' | null, options: GenerationOptions): number[] {
  const model = reference as unknown as PreTrainedModel;
  const run = (): number[] => {
    const ids = tensor([prompt], { dtype: 'int64' });
    const out = generate(model, { input_ids: ids }, options);
    const tokens = Array.from(out.toArray(), Number).slice(prompt.length);
    ids.dispose();
    out.dispose();
    return tokens;
  };
  return adapter === null ? reference.disableAdapter(run) : run();
}

describe('POST /v1/generate', () => {
  test('greedy with an adapter and with the base model: the tokens of lib/models generate()', async () => {
    for (const adapter of ['second', null] as const) {
      const reply = await post(`${server.url}/v1/generate`, { adapter, input_ids: prompt, max_new_tokens: 12, stop: [] });
      expect(reply.status).toBe(200);
      expect(reply.body.tokens).toEqual(expectedTokens(adapter, { maxNewTokens: 12 }));
      expect(reply.body.tokens).toHaveLength(12);
    }
  });

  test('the two adapters continue differently', async () => {
    const [first, second] = await Promise.all(['first', 'second'].map((adapter) => post(`${server.url}/v1/generate`, { adapter, input_ids: prompt, max_new_tokens: 12, stop: [] })));
    expect(first.body.tokens).not.toEqual(second.body.tokens);
  });

  test('sampling with a seed (temperature, top_k, top_p) repeats its tokens; another seed draws others', async () => {
    const sample = async (seed: number) => (await post(`${server.url}/v1/generate`, { adapter: 'second', input_ids: prompt, max_new_tokens: 10, stop: [], seed, temperature: 1.3, top_k: 20, top_p: 0.9 })).body.tokens;
    const first = await sample(11);
    expect(first).toHaveLength(10);
    expect(await sample(11)).toEqual(first);
    expect(await sample(12)).not.toEqual(first);
  });

  test('stops after a stop token, which ends the list', async () => {
    const greedy = expectedTokens('second', { maxNewTokens: 12 });
    const stopAt = greedy[5];
    const reply = await post(`${server.url}/v1/generate`, { adapter: 'second', input_ids: prompt, max_new_tokens: 12, stop: [stopAt] });
    expect(reply.body.tokens).toEqual(greedy.slice(0, greedy.indexOf(stopAt) + 1));
  });

  test('leaves no tensors behind', async () => {
    await post(`${server.url}/v1/generate`, { adapter: 'first', input_ids: prompt, max_new_tokens: 4, stop: [] }); // warm-up
    const live = await workerLiveTensors(server);
    for (const adapter of ['first', null, 'second']) {
      expect((await post(`${server.url}/v1/generate`, { adapter, input_ids: prompt, max_new_tokens: 8, temperature: 0.7, seed: 1 })).status).toBe(200);
    }
    expect(await workerLiveTensors(server)).toBe(live);
  });

  test('is counted in /metrics', async () => {
    expect(await metric(server, 'nodepeft_http_requests_total{route="POST /v1/generate",status="200"}')).toBe(12);
  });
});
