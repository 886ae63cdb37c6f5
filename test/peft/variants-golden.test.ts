// Golden cases PEFT 0.21 wrote (scripts/fixtures/peft_variants.py): aLoRA (forward and generation), lora_bias
// (forward, merged, saved keys), two adapters active at once, add_weighted_adapter of every combination type. node-peft reproduces PEFT's logits (≤ 1e-4) and ids.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, torch, type Tensor } from '../../lib/index.js';
import type { CombinationType } from '../../lib/peft/weighted-adapter.js';
import type { CausalLM } from '../../lib/models/generation.js';
import { generate } from '../../lib/models/text-generation.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const TOLERANCE = 1e-4;
const VARIANTS = join(FIXTURES, 'peft-variants');
const scratch = mkdtempSync(join(tmpdir(), 'peft-variants-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Manifest {
  base: string;
  adapters: Record<string, string>;
  active?: string[];
  alora_offsets?: (number | null)[];
  generate?: { rows: number[]; max_new_tokens: number };
}

async function loadCase(name: string): Promise<{ peft: PeftModel; inputs: Record<string, Tensor>; expected: Record<string, Tensor>; manifest: Manifest }> {
  const dir = join(VARIANTS, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const base = await models.fromPretrained(join(FIXTURES, manifest.base));
  const [[first, firstDir], ...rest] = Object.entries(manifest.adapters);
  const peft = await PeftModel.fromPretrained(base, join(dir, firstDir), { adapterName: first, warn: () => undefined });
  for (const [name2, folder] of rest) await peft.loadAdapter(join(dir, folder), name2);
  return { peft, inputs: await safetensors.load(join(dir, 'inputs.safetensors')), expected: await safetensors.load(join(dir, 'expected.safetensors')), manifest };
}

const logits = (peft: PeftModel, inputs: Record<string, Tensor>): Tensor => (peft.forward({ ...inputs }) as { logits: Tensor }).logits;

const ids = (t: Tensor): number[][] => {
  const flat = Array.from(t.toArray(), Number);
  return Array.from({ length: t.shape[0] }, (_, r) => flat.slice(r * t.shape[1], (r + 1) * t.shape[1]));
};

describe('aLoRA (alora_invocation_tokens)', () => {
  it('acts only from the last invocation on, per row, as PEFT (row without the invocation = base model)', async () => {
    const { peft, inputs, expected } = await loadCase('alora');
    expect(maxAbsDiff(logits(peft, inputs), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(peft.disableAdapter(() => logits(peft, inputs)), expected.logits_base)).toBeLessThanOrEqual(TOLERANCE);
    // the adapter changes the rows that hold the invocation, and only from it on
    expect(maxAbsDiff(expected.logits, expected.logits_base)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(expected.logits.select(0, 2), expected.logits_base.select(0, 2))).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(expected.logits.select(0, 0).narrow(0, 0, 3), expected.logits_base.select(0, 0).narrow(0, 0, 3))).toBeLessThanOrEqual(1e-6);
  });

  it('takes explicit alora_offsets as PEFT does', async () => {
    const { peft, inputs, expected, manifest } = await loadCase('alora');
    const out = (peft.forward({ ...inputs, alora_offsets: manifest.alora_offsets }) as { logits: Tensor }).logits;
    expect(maxAbsDiff(out, expected.logits)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('generation with a KV cache keeps the adapter on after the invocation: the same ids as PEFT\'s generate', async () => {
    const { peft, inputs, expected, manifest } = await loadCase('alora');
    const { rows, max_new_tokens } = manifest.generate!;
    const prompt = inputs.input_ids.indexSelect(0, torch.tensor(rows, { dtype: 'int64' }));
    const out = generate(peft as unknown as CausalLM, { input_ids: prompt }, { maxNewTokens: max_new_tokens, padTokenId: 0 });
    expect(ids(out)).toEqual(ids(expected.generated));
    expect(ids(expected.generated)).not.toEqual(ids(expected.generated_base));
    const uncached = generate(peft as unknown as CausalLM, { input_ids: prompt }, { maxNewTokens: max_new_tokens, padTokenId: 0, useCache: false });
    expect(ids(uncached)).toEqual(ids(expected.generated));
  });

  it('refuses merging, as PEFT', async () => {
    const { peft } = await loadCase('alora');
    expect(() => peft.mergeAdapter()).toThrow(/aLoRA does not support merging/);
  });

  it('saves the keys PEFT saved (and the config with its invocation tokens)', async () => {
    const { peft } = await loadCase('alora');
    await peft.savePretrained(join(scratch, 'alora'));
    const ours = safetensors.loadSync(join(scratch, 'alora', 'adapter_model.safetensors'));
    const theirs = safetensors.loadSync(join(VARIANTS, 'alora', 'adapter', 'adapter_model.safetensors'));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(JSON.parse(readFileSync(join(scratch, 'alora', 'adapter_config.json'), 'utf8')).alora_invocation_tokens).toEqual([7, 11, 13]);
  });
});

describe('lora_bias', () => {
  it('PEFT\'s lora_B.bias keys load and give PEFT\'s logits, unmerged and merged', async () => {
    const { peft, inputs, expected } = await loadCase('lora_bias');
    const keys = Object.keys(safetensors.loadSync(join(VARIANTS, 'lora_bias', 'adapter', 'adapter_model.safetensors')));
    expect(keys.filter((k) => k.endsWith('lora_B.bias')).length).toBe(6);
    expect(maxAbsDiff(logits(peft, inputs), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    peft.mergeAdapter();
    expect(maxAbsDiff(logits(peft, inputs), expected.logits_merged)).toBeLessThanOrEqual(TOLERANCE);
    peft.unmergeAdapter();
    expect(maxAbsDiff(logits(peft, inputs), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    const merged = peft.mergeAndUnload() as unknown as { forward(i: unknown): { logits: Tensor } };
    expect(maxAbsDiff(merged.forward({ ...inputs }).logits, expected.logits_merged)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('saves the keys PEFT saved', async () => {
    const { peft } = await loadCase('lora_bias');
    await peft.savePretrained(join(scratch, 'lora_bias'));
    const ours = safetensors.loadSync(join(scratch, 'lora_bias', 'adapter_model.safetensors'));
    const theirs = safetensors.loadSync(join(VARIANTS, 'lora_bias', 'adapter', 'adapter_model.safetensors'));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const key of Object.keys(theirs)) expect(maxAbsDiff(ours[key], theirs[key]), key).toBe(0);
  });
});

describe('two adapters active at once', () => {
  it('setAdapter([first, second]) sums both as PEFT (unmerged and merged); one of them alone too', async () => {
    const { peft, inputs, expected, manifest } = await loadCase('two_active_adapters');
    peft.setAdapter(manifest.active!);
    expect(maxAbsDiff(logits(peft, inputs), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    peft.mergeAdapter();
    expect(maxAbsDiff(logits(peft, inputs), expected.logits_merged)).toBeLessThanOrEqual(TOLERANCE);
    peft.unmergeAdapter();
    peft.setAdapter('first');
    expect(maxAbsDiff(logits(peft, inputs), expected.logits_first)).toBeLessThanOrEqual(TOLERANCE);
  });
});

interface WeightedRun {
  combination_type: CombinationType;
  seed: number;
  density: number;
  majority_sign_method: 'total' | 'frequency';
  weights: number[];
}

describe('addWeightedAdapter: every combination type PEFT 0.21 has, seeded as PEFT (DARE masks from the same generator)', () => {
  const manifest = JSON.parse(readFileSync(join(VARIANTS, 'weighted_adapters', 'manifest.json'), 'utf8')) as Manifest & { runs: WeightedRun[] };
  for (const run of manifest.runs) {
    it(`${run.combination_type}: PEFT's logits`, async () => {
      const { peft, inputs, expected } = await loadCase('weighted_adapters');
      const name = `combined_${run.combination_type}`;
      torch.manualSeed(run.seed);
      peft.addWeightedAdapter(['a', 'b'], run.weights, name, run.combination_type, { density: run.density, majoritySignMethod: run.majority_sign_method });
      peft.setAdapter(name);
      expect(maxAbsDiff(logits(peft, inputs), expected[`logits.${run.combination_type}`])).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(logits(peft, inputs), peft.disableAdapter(() => logits(peft, inputs)))).toBeGreaterThan(1e-3);
    });
  }

  it('different seeds draw different DARE masks (the seed matters, so matching PEFT is not luck)', async () => {
    const { peft, inputs } = await loadCase('weighted_adapters');
    const out: Tensor[] = [];
    for (const seed of [1, 2]) {
      torch.manualSeed(seed);
      peft.addWeightedAdapter(['a', 'b'], [0.7, -0.4], `dare_${seed}`, 'dare_linear', { density: 0.5 });
      peft.setAdapter(`dare_${seed}`);
      out.push(logits(peft, inputs));
    }
    expect(maxAbsDiff(out[0], out[1])).toBeGreaterThan(1e-4);
  });

  it('needs a density for the pruning types', async () => {
    const { peft } = await loadCase('weighted_adapters');
    expect(() => peft.addWeightedAdapter(['a', 'b'], [1, 1], 'x', 'ties')).toThrow(/density is required/);
  });
});

describe('hotswapAdapter (PEFT\'s hotswap_adapter)', () => {
  it('swaps in a smaller-rank adapter with fewer targets, then a larger one: PEFT\'s logits, and the same as loading each fresh', async () => {
    const { peft, inputs, expected } = await loadCase('hotswap');
    expect(maxAbsDiff(logits(peft, inputs), expected['logits.first'])).toBeLessThanOrEqual(TOLERANCE);
    const layersBefore = peft.loraLayers().map(([, layer]) => layer);
    for (const name of ['smaller', 'larger']) {
      await peft.hotswapAdapter(join(VARIANTS, 'hotswap', name), 'default');
      expect(maxAbsDiff(logits(peft, inputs), expected[`logits.${name}`]), name).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(expected[`logits.${name}`], expected[`logits.${name}_loaded`]), name).toBeLessThanOrEqual(TOLERANCE);
    }
    expect(peft.loraLayers().map(([, layer]) => layer)).toEqual(layersBefore); // no re-injection
  });

  it('refuses an adapter targeting layers the model has no LoRA on, or with another use_rslora; a merged adapter', async () => {
    const { peft } = await loadCase('hotswap');
    const other = join(scratch, 'other-targets');
    const { getPeftModel, LoraConfig } = await import('../../lib/index.js');
    const base = await models.fromPretrained(join(FIXTURES, 'peft-golden/07_llama_two_named_adapters/base'));
    await getPeftModel(base, new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['k_proj'] }), 'default', { warn: () => undefined }).savePretrained(other);
    await expect(peft.hotswapAdapter(other, 'default')).rejects.toThrow(/unexpected keys found: .*k_proj/);
    const rslora = join(scratch, 'rslora');
    const base2 = await models.fromPretrained(join(FIXTURES, 'peft-golden/07_llama_two_named_adapters/base'));
    await getPeftModel(base2, new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj'], use_rslora: true }), 'default', { warn: () => undefined }).savePretrained(rslora);
    await expect(peft.hotswapAdapter(rslora, 'default')).rejects.toThrow(/Configs are incompatible: for use_rslora/);
    peft.mergeAdapter();
    await expect(peft.hotswapAdapter(join(VARIANTS, 'hotswap', 'smaller'), 'default')).rejects.toThrow(/currently merged/);
  });
});
