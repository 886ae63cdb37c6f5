// POST /v1/generate: the tokens lib/models' generate() gives with the same adapter (or none) and options.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fromPretrained, generate, type GenerationOptions, type PreTrainedModel } from '../../lib/models/index.js';
import { PeftModel } from '../../lib/peft/index.js';
import { serve, type RunningServer } from '../../lib/serve/index.js';
import { tensor } from '../../lib/tensor/creation.js';
import { liveTensors } from '../../lib/tensor/tensor.js';
import { CASE_10, get, post } from './helpers.js';

const ADAPTERS = join(CASE_10, 'adapter');
const prompt = [5, 17, 42, 8];
let server: RunningServer;
let reference: PeftModel;

beforeAll(async () => {
  server = await serve({ model: join(CASE_10, 'base'), adapters: [['first', join(ADAPTERS, 'first')], ['second', join(ADAPTERS, 'second')]] });
  reference = await PeftModel.fromPretrained(await fromPretrained(join(CASE_10, 'base')), join(ADAPTERS, 'second'), { adapterName: 'second' });
});
afterAll(async () => {
  await server.close();
  reference.dispose();
});

/** lib/models generate() on the reference model: the new tokens. */
function expectedTokens(adapter: 'second' | null, options: GenerationOptions, seed?: number): number[] {
  const model = reference as unknown as PreTrainedModel;
  const run = (): number[] => {
    const ids = tensor([prompt], { dtype: 'int64' });
    const out = generate(model, { input_ids: ids }, { ...options, seed });
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

  test('sampling with a seed (temperature, top_k, top_p) gives the tokens generate() samples with that seed', async () => {
    const reply = await post(`${server.url}/v1/generate`, { adapter: 'second', input_ids: prompt, max_new_tokens: 10, stop: [], seed: 11, temperature: 1.3, top_k: 20, top_p: 0.9 });
    expect(reply.body.tokens).toEqual(expectedTokens('second', { maxNewTokens: 10, doSample: true, temperature: 1.3, topK: 20, topP: 0.9 }, 11));
  });

  test('stops after a stop token, which ends the list', async () => {
    const greedy = expectedTokens('second', { maxNewTokens: 12 });
    const stopAt = greedy[5];
    const reply = await post(`${server.url}/v1/generate`, { adapter: 'second', input_ids: prompt, max_new_tokens: 12, stop: [stopAt] });
    expect(reply.body.tokens).toEqual(greedy.slice(0, greedy.indexOf(stopAt) + 1));
  });

  test('leaves no tensors behind', async () => {
    await post(`${server.url}/v1/generate`, { adapter: 'first', input_ids: prompt, max_new_tokens: 4, stop: [] }); // warm-up
    const live = liveTensors();
    for (const adapter of ['first', null, 'second']) {
      expect((await post(`${server.url}/v1/generate`, { adapter, input_ids: prompt, max_new_tokens: 8, temperature: 0.7, seed: 1 })).status).toBe(200);
    }
    expect(liveTensors()).toBe(live);
  });

  test('is counted in /metrics', async () => {
    const metrics = (await get(`${server.url}/metrics`)).body as { requests: { by_route: Record<string, number> } };
    expect(metrics.requests.by_route['POST /v1/generate']).toBe(10);
  });
});
