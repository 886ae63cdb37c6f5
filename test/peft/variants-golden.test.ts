// Golden cases PEFT 0.21 wrote (scripts/fixtures/peft_variants.py): aLoRA (forward and generation), lora_bias
// (forward, merged, saved keys), two adapters active at once. node-peft reproduces PEFT's logits (≤ 1e-4) and ids.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models, PeftModel, safetensors, type Tensor } from '../../lib/index.js';
import { generate, type CausalLM } from '../../lib/models/generation.js';
import { FIXTURES } from './golden.js';

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

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return a.sub(b).abs().max().item();
}

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
    const prompt = inputs.input_ids.indexSelect(0, (await import('../../lib/index.js')).torch.tensor(rows, { dtype: 'int64' }));
    const out = generate(peft as unknown as CausalLM, { input_ids: prompt }, { max_new_tokens, pad_token_id: 0 });
    expect(ids(out)).toEqual(ids(expected.generated));
    expect(ids(expected.generated)).not.toEqual(ids(expected.generated_base));
    const uncached = generate(peft as unknown as CausalLM, { input_ids: prompt }, { max_new_tokens, pad_token_id: 0, use_cache: false });
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
