// The continuous-batching engine on token ids: every request's greedy tokens are those it gets served alone
// (and those of lib/models' generate() and of Python transformers), however requests with different adapters
// and prompt lengths join, leave and share steps; prefill chunks; cancellation frees the KV slot.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generate, type PreTrainedModel } from '../../lib/models/index.js';
import { AdapterRegistry, GenerationEngine, type EngineOptions, type GenerationRequest } from '../../lib/serve/index.js';
import { tensor } from '../../lib/tensor/creation.js';
import { setNumThreads } from '../../lib/tensor/runtime.js';
import { liveTensors } from '../../lib/tensor/tensor.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'serve');
const ADAPTERS = Array.from({ length: 8 }, (_, i) => `ad${i}`);
let registry: AdapterRegistry;

beforeAll(async () => {
  setNumThreads(1); // the suite shares the machine's cores
  registry = await AdapterRegistry.open(join(FIXTURE, 'base'));
  for (const name of ADAPTERS) await registry.load(name, join(FIXTURE, 'adapters', name));
});
afterAll(() => registry.dispose());

function engine(options: EngineOptions = {}): GenerationEngine {
  const shape = { layers: 2, kvHeads: 2, headDim: 16, maxPositions: 256, dtype: 'float32' as const };
  return new GenerationEngine(shape, (inputs, rows) => registry.forward(inputs, rows), options);
}

function request(id: string, adapter: string | null, promptIds: number[], maxTokens: number, temperature = 0, seed: number | null = null): GenerationRequest {
  return { id, adapter, promptIds, maxTokens, stopTokenIds: [], sampling: { temperature, topP: 1, topK: 0, seed } };
}

/** Runs the engine until idle, submitting `later` requests at the given steps; tokens per request id. */
function drain(e: GenerationEngine, first: GenerationRequest[], later: [number, GenerationRequest][] = []): Map<string, number[]> {
  const out = new Map<string, number[]>();
  first.forEach((r) => e.submit(r));
  for (let step = 0; e.hasWork() || later.some(([at]) => at >= step); step++) {
    for (const [at, r] of later) if (at === step) e.submit(r);
    for (const [id, token] of e.step().tokens) out.set(id, [...(out.get(id) ?? []), token]);
  }
  return out;
}

const prompt = (length: number, offset: number): number[] => Array.from({ length }, (_, i) => (i * 7 + offset * 13 + 3) % 380);

describe('GenerationEngine', () => {
  test('alone, greedy: the tokens of lib/models generate() (base and adapter) and of Python transformers (base)', () => {
    const python = JSON.parse(readFileSync(join(FIXTURE, 'greedy.json'), 'utf8')) as { prompt_ids: number[]; base: number[] };
    using e = engine();
    expect(drain(e, [request('a', null, python.prompt_ids, 12)]).get('a')).toEqual(python.base);
    const ids = tensor([python.prompt_ids], { dtype: 'int64' });
    const expected = registry.withAdapter('ad3', (model) => Array.from(generate(model as unknown as PreTrainedModel, { input_ids: ids }, { maxNewTokens: 12 }).toArray(), Number));
    ids.dispose();
    expect(drain(e, [request('b', 'ad3', python.prompt_ids, 12)]).get('b')).toEqual(expected.slice(python.prompt_ids.length));
  });

  test('16 requests over 8 adapters and the base, joining at different steps: each gets what it gets alone', () => {
    const requests = Array.from({ length: 16 }, (_, i) => request(`r${i}`, i % 9 === 8 ? null : ADAPTERS[i % 8], prompt(3 + ((i * 5) % 23), i), 6 + (i % 7)));
    const alone = new Map<string, number[]>();
    for (const r of requests) {
      using e = engine();
      alone.set(r.id, drain(e, [r]).get(r.id) ?? []);
    }
    expect(new Set([...alone.values()].map((t) => t.join())).size).toBeGreaterThan(8); // adapters really differ
    using e = engine({ maxNumSeqs: 6, maxPrefillTokens: 16 });
    const together = drain(e, requests.slice(0, 5), requests.slice(5).map((r, i) => [i * 2, r]));
    for (const r of requests) expect(together.get(r.id), r.id).toEqual(alone.get(r.id));
    expect(e.kv.freeBlocks).toBe(e.kv.totalBlocks);
  });

  test('a long prompt is prefilled in chunks while others decode, with the same tokens', () => {
    const long = request('long', 'ad1', prompt(120, 1), 5);
    const short = request('short', 'ad2', prompt(4, 2), 20);
    using alone = engine();
    const expected = drain(alone, [long]).get('long');
    using e = engine({ maxPrefillTokens: 16 });
    e.submit(short);
    e.step();
    e.submit(long);
    const steps: { decodeRows: number; prefillRows: number }[] = [];
    const out = new Map<string, number[]>();
    while (e.hasWork()) {
      const result = e.step();
      steps.push(result);
      for (const [id, token] of result.tokens) out.set(id, [...(out.get(id) ?? []), token]);
    }
    expect(out.get('long')).toEqual(expected);
    // the short request kept decoding during the long prompt's 120 / 16 = 8 prefill steps
    expect(steps.slice(0, 7).every((s) => s.decodeRows === 1 && s.prefillRows === 1)).toBe(true);
  });

  test('seeded sampling draws the same tokens alone and batched', () => {
    const sampled = request('s', 'ad4', prompt(9, 4), 12, 1.2, 7);
    using alone = engine();
    const expected = drain(alone, [sampled]).get('s');
    using e = engine();
    const together = drain(e, [request('x', 'ad5', prompt(5, 5), 12, 0.8, 3), sampled, request('y', null, prompt(17, 6), 3)]);
    expect(together.get('s')).toEqual(expected);
  });

  test('a stop token ends a request; cancel frees its KV slot at the next step; no tensors leak', () => {
    using e = engine();
    const greedy = drain(e, [request('g', 'ad6', prompt(8, 7), 10)]).get('g') ?? [];
    const live = liveTensors();
    const stopped = drain(e, [{ ...request('t', 'ad6', prompt(8, 7), 10), stopTokenIds: [greedy[3]] }]).get('t');
    expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(greedy[3]) + 1));
    e.submit(request('c', 'ad7', prompt(8, 8), 50));
    e.step();
    e.step();
    expect(e.kv.freeBlocks).toBeLessThan(e.kv.totalBlocks);
    e.cancel('c');
    const result = e.step();
    expect(result.finished).toEqual([{ id: 'c', reason: 'abort', promptTokens: 8, completionTokens: 2 }]);
    expect(e.hasWork()).toBe(false);
    expect(e.kv.freeBlocks).toBe(e.kv.totalBlocks);
    expect(liveTensors()).toBe(live);
  });

  test('the per-step adapter cap lets other requests pass a waiting adapter, until it has waited agingMs', () => {
    const requests = [request('a', 'ad0', prompt(4, 1), 3), request('b', 'ad1', prompt(4, 2), 3), request('c', 'ad0', prompt(4, 3), 3)];
    using capped = engine({ maxAdaptersPerStep: 1, agingMs: 1e9 });
    requests.forEach((r) => capped.submit(r));
    capped.step();
    expect([capped.running, capped.waiting]).toEqual([2, 1]); // a and c run; b waits for ad0 to leave
    const order: string[] = [];
    while (capped.hasWork()) order.push(...capped.step().finished.map((f) => f.id));
    expect(order).toEqual(['a', 'c', 'b']);
    using aged = engine({ maxAdaptersPerStep: 1, agingMs: 0 });
    requests.forEach((r) => aged.submit(r));
    aged.step();
    expect([aged.running, aged.waiting]).toEqual([3, 0]);
  });

  test('a request whose prompt + max tokens exceed the KV pool is refused', () => {
    using e = engine({ kvCacheTokens: 32 });
    expect(() => e.submit(request('big', null, prompt(30, 1), 10))).toThrow(/exceed the KV cache \(32 tokens\)/);
  });
});
