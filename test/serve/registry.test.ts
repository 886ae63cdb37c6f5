// AdapterRegistry: names, duplicate loads, replacing, deleting, requests waiting for a load in progress, failed
// loads that leave everything as it was, and adapters whose rows cannot share a forward (golden case 02).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdapterRegistry, checkAdapterName, HttpError, serve } from '../../lib/serve/index.js';
import { loadSync, save } from '../../lib/serialization/index.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { zeros } from '../../lib/tensor/creation.js';
import { scope } from '../../lib/tensor/scope.js';
import type { NestedNumbers } from '../../lib/tensor/tensor.js';
import { FIXTURES } from '../peft/golden.js';
import { batching, CASE_10, maxAbsDiff, nested, post } from './helpers.js';

const FIRST = join(CASE_10, 'adapter', 'first');
const SECOND = join(CASE_10, 'adapter', 'second');
let registry: AdapterRegistry;
const warnings: string[] = [];

beforeAll(async () => {
  registry = await AdapterRegistry.open(join(CASE_10, 'base'), { warn: (m) => warnings.push(m) });
});
afterAll(() => registry.dispose());

const status = async (promise: Promise<unknown>): Promise<number> => {
  const error = await promise.then(() => null, (e: unknown) => e);
  return error instanceof HttpError ? error.status : 0;
};

describe('AdapterRegistry', () => {
  test('adapter names: letters, digits, _ and -, 64 at most, not __base__', () => {
    expect(checkAdapterName('sql-v2_final')).toBe('sql-v2_final');
    for (const bad of ['', 'a.b', '__base__', '_x', 'a/b', 'x'.repeat(65), 7, null]) {
      expect(() => checkAdapterName(bad)).toThrow(/^adapter name: expected 1-64 letters/);
    }
  });

  test('starts with no adapters and no PeftModel', () => {
    expect(registry.list()).toEqual([]);
    expect(registry.peft).toBeNull();
  });

  test('loading a name twice is a 409 unless replace is given', async () => {
    const info = await registry.load('a', FIRST);
    expect(info).toMatchObject({ name: 'a', path: FIRST, r: 4, lora_alpha: 8 });
    expect([...(info.target_modules as string[])].sort()).toEqual(['q_proj', 'v_proj']);
    expect(await status(registry.load('a', SECOND))).toBe(409);
    expect(registry.list().map((a) => a.path)).toEqual([FIRST]);
    expect(await registry.load('a', SECOND, { replace: true })).toMatchObject({ name: 'a', path: SECOND, r: 2 });
    expect(registry.peft?.peftConfig.get('a')?.r).toBe(2);
  });

  test('a request for an adapter that is loading waits for it (settled)', async () => {
    const loading = registry.load('b', FIRST);
    expect(registry.has('b')).toBe(false);
    await registry.settled('b');
    expect(registry.has('b')).toBe(true);
    await loading;
  });

  test('two loads of one new name at once: one wins, the other is a 409', async () => {
    const results = await Promise.all([status(registry.load('c', FIRST)), status(registry.load('c', SECOND))]);
    expect(results.sort()).toEqual([0, 409]);
  });

  test('deleting: unknown names are 404; the last one unloads the PeftModel', async () => {
    expect(await status(registry.delete('zzz'))).toBe(404);
    for (const name of ['a', 'b', 'c']) await registry.delete(name);
    expect(registry.list()).toEqual([]);
    expect(registry.peft).toBeNull();
    expect(registry.model.namedModules().some(([name]) => name.includes('lora_'))).toBe(false);
    expect(warnings).toEqual([]);
  });
});

describe('an adapter whose weights do not fit the model', () => {
  const badDir = mkdtempSync(join(tmpdir(), 'node-peft-bad-adapter-'));
  afterAll(() => rmSync(badDir, { recursive: true, force: true }));

  /** case 10's logits through registry.forward, one adapter for every row. */
  const logits = (r: AdapterRegistry, adapter: string | null): NestedNumbers[] => noGrad(() => scope(() => {
    const ids = loadSync(join(CASE_10, 'inputs.safetensors')).input_ids;
    return r.forward({ input_ids: ids }, new Array(ids.shape[0]).fill(adapter)).logits.toList() as NestedNumbers[];
  }));

  test('fails to load, first or later, and leaves the model and the other adapters as they were', async () => {
    copyFileSync(join(FIRST, 'adapter_config.json'), join(badDir, 'adapter_config.json'));
    const tensors = loadSync(join(FIRST, 'adapter_model.safetensors'));
    const [key] = Object.keys(tensors).filter((k) => k.includes('lora_A'));
    tensors[key] = zeros([tensors[key].shape[0], tensors[key].shape[1] + 1]);
    await save(join(badDir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    for (const t of Object.values(tensors)) t.dispose();

    const expected = nested(join(CASE_10, 'expected.safetensors'));
    const fresh = await AdapterRegistry.open(join(CASE_10, 'base'), { warn: () => undefined });
    try {
      await expect(fresh.load('bad', badDir)).rejects.toThrow(/size mismatch/);
      expect(fresh.peft).toBeNull();
      expect(fresh.model.namedModules().some(([name]) => name.includes('lora_'))).toBe(false);
      expect(maxAbsDiff(logits(fresh, null), expected.logits_base)).toBeLessThanOrEqual(1e-4);

      await fresh.load('first', FIRST);
      await expect(fresh.load('bad', badDir)).rejects.toThrow(/size mismatch/);
      expect(fresh.list().map((a) => a.name)).toEqual(['first']);
      expect([...(fresh.peft?.peftConfig.keys() ?? [])]).toEqual(['first']);
      expect(maxAbsDiff(logits(fresh, 'first'), expected['logits_peft.first'])).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(logits(fresh, null), expected.logits_base)).toBeLessThanOrEqual(1e-4);
    } finally {
      fresh.dispose();
    }
  });
});

describe('an adapter with a bare-parameter copy (case 02)', () => {
  const dir = join(FIXTURES, 'peft-golden', '02_vit_resized_posemb_param');

  test('its rows and base rows run as separate forwards, each with the logits PEFT computed', async () => {
    const vitWarnings: string[] = [];
    const vit = await AdapterRegistry.open(join(dir, 'base'), { warn: (m) => vitWarnings.push(m) });
    await vit.load('resized', join(dir, 'adapter'));
    expect(vitWarnings.join('\n')).toMatch(/position_embeddings: the adapter holds no tensor for it/);
    expect(vit.canMix(['resized', null])).toBe(false);
    expect(vit.canMix(['resized', 'resized'])).toBe(true);
    vit.dispose();
    const server = await serve({ model: join(dir, 'base'), adapters: [['resized', join(dir, 'adapter')]], batchWindowMs: 25, threads: 1 });
    try {
      const pixels = nested(join(dir, 'inputs.safetensors')).pixel_values;
      const expected = nested(join(dir, 'expected.safetensors'));
      const [peft, base] = await Promise.all(['resized', null].map((adapter) => post(`${server.url}/v1/predict`, { adapter, inputs: { pixel_values: [pixels[0]] } })));
      expect(maxAbsDiff((peft.body.logits as NestedNumbers[])[0], expected.logits_peft[0])).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff((base.body.logits as NestedNumbers[])[0], expected.logits_base[0])).toBeLessThanOrEqual(1e-4);
      expect(await batching(server)).toMatchObject({ batches: 2, mixed_batches: 0, fallbacks: 0 });
    } finally {
      await server.close();
    }
  });
});
