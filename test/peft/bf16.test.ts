// A bfloat16 base model with float32 LoRA adapters, against test/fixtures/bf16 (real PEFT 0.21 + transformers 5.17 on
// the tiny Llama loaded with dtype=torch.bfloat16; scripts/fixtures/bf16.py). Both of node-peft's bf16 GEMM paths
// are checked: 'bf16' (ATen's own bf16 GEMM, the kernels PEFT ran here) and 'fp32' (operands widened to float32).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, models, optim, PeftModel, safetensors, torch, type Tensor } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const BASE = join(FIXTURES, 'peft-golden/07_llama_two_named_adapters/base');
const CASES = join(FIXTURES, 'bf16');
// bf16 keeps 8 significant bits: logits of magnitude ≤ 8 are spaced 2^-5 = 0.031 apart. Measured here: with ATen's
// bf16 GEMM (the kernels PEFT ran) node-peft runs the same ops in the same order and the base, LoRA, merged and DoRA
// logits are bit-identical (max diff 0); widened to fp32 the products sum in another order, some outputs round to
// the neighbouring bf16 value and that carries through the layers (max 0.078 = 2.5 steps of the largest logits).
// 4 steps are allowed, for either path, so other CPUs (oneDNN's bf16 kernels) pass too.
const TOLERANCE = 0.125;
// Gradients flow back through bf16 activations (each op rounds to 2^-8 relative): max |diff| over max |grad| measured
// 0.029 (bf16 GEMM) and 0.054 (widened) on the worst LoRA tensor.
const GRAD_TOLERANCE = 0.08;
const PATHS = ['bf16', 'fp32'] as const;
const defaultPath = torch.bf16Gemm();

interface Manifest {
  adapter_dtypes: Record<string, string>;
}

const manifest = (name: string): Manifest => JSON.parse(readFileSync(join(CASES, name, 'manifest.json'), 'utf8')) as Manifest;
const load = (name: string, file = 'expected.safetensors'): Promise<Record<string, Tensor>> => safetensors.load(join(CASES, name, file));
const bf16Base = (): Promise<models.PreTrainedModel> => models.fromPretrained(BASE, { dtype: 'bfloat16' });

afterEach(() => void torch.bf16Gemm(defaultPath));

describe.each(PATHS)('a bfloat16 base against PEFT (bf16 GEMM path %s)', (path) => {
  it('reproduces the base and LoRA logits, the loss and the float32 LoRA gradients', async () => {
    torch.bf16Gemm(path);
    const [inputs, expected] = await Promise.all([load('lora', 'inputs.safetensors'), load('lora')]);
    const base = await bf16Base();
    expect(maxAbsDiff(torch.noGrad(() => base.forward(inputs).logits), expected.logits_base)).toBeLessThanOrEqual(TOLERANCE);
    const peft = await PeftModel.fromPretrained(base, join(CASES, 'lora', 'adapter'), { isTrainable: true });
    const out = peft.forward({ ...inputs, labels: inputs.input_ids });
    expect(out.logits.dtype).toBe('bfloat16');
    expect(maxAbsDiff(out.logits, expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbsDiff(expected.logits, expected.logits_base)).toBeGreaterThan(1); // the adapter matters
    const loss = out.loss as Tensor;
    expect(loss.dtype).toBe('float32');
    expect(Math.abs(loss.item() - expected.loss.item())).toBeLessThanOrEqual(1e-3 * expected.loss.item()); // measured 2e-7 / 1.1e-4 relative
    loss.backward();
    for (const [name, p] of peft.namedParameters().filter(([, q]) => q.requiresGrad)) {
      const key = `grad.${name.replace(/^base_model\.model\./, '')}`;
      const want = expected[key];
      expect(want, key).toBeDefined();
      expect(p.grad?.dtype, key).toBe(p.dtype);
      const scale = torch.scope(() => want.abs().max().item());
      expect(maxAbsDiff(p.grad as Tensor, want), key).toBeLessThanOrEqual(GRAD_TOLERANCE * scale);
    }
    peft.dispose();
  });

  it('merges into the bf16 weights (the float32 delta rounded once) with the logits PEFT gets', async () => {
    torch.bf16Gemm(path);
    const [inputs, { logits_merged }] = await Promise.all([load('lora', 'inputs.safetensors'), load('lora', 'expected_merged.safetensors')]);
    const peft = await PeftModel.fromPretrained(await bf16Base(), join(CASES, 'lora', 'adapter'));
    const merged = peft.mergeAndUnload() as models.PreTrainedModel;
    expect(merged.getParameter('model.layers.0.self_attn.q_proj.weight').dtype).toBe('bfloat16');
    expect(maxAbsDiff(torch.noGrad(() => merged.forward(inputs).logits), logits_merged)).toBeLessThanOrEqual(TOLERANCE);
    merged.dispose();
  });

  it('runs DoRA with a float32 magnitude as PEFT does', async () => {
    torch.bf16Gemm(path);
    const [inputs, expected] = await Promise.all([load('dora', 'inputs.safetensors'), load('dora')]);
    const peft = await PeftModel.fromPretrained(await bf16Base(), join(CASES, 'dora', 'adapter'));
    expect(peft.getParameter('base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector.default.weight').dtype).toBe('float32');
    expect(maxAbsDiff(torch.noGrad(() => peft.forward(inputs).logits), expected.logits)).toBeLessThanOrEqual(TOLERANCE);
    peft.dispose();
  });
});

describe('adapter dtypes on a bfloat16 base', () => {
  const scratch: string[] = [];
  afterAll(async () => {
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  it("keeps a loaded float32 adapter float32 (bit for bit) and modules_to_save in the base dtype, as PEFT's autocast_adapter_dtype", async () => {
    const file = await safetensors.load(join(CASES, 'lora', 'adapter', 'adapter_model.safetensors'));
    const peft = await PeftModel.fromPretrained(await bf16Base(), join(CASES, 'lora', 'adapter'), { isTrainable: true });
    const trainable = Object.fromEntries(peft.namedParameters().filter(([, p]) => p.requiresGrad).map(([n, p]) => [n, p.dtype]));
    expect(trainable).toEqual(manifest('lora').adapter_dtypes);
    const qA = peft.getParameter('base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight');
    expect(maxAbsDiff(qA, file['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'])).toBe(0);
    peft.dispose();
  });

  it('saves float32 LoRA tensors and a bf16 modules_to_save copy under the keys PEFT wrote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'node-peft-bf16-'));
    scratch.push(dir);
    const peft = await PeftModel.fromPretrained(await bf16Base(), join(CASES, 'lora', 'adapter'));
    await peft.savePretrained(dir);
    const [ours, theirs] = await Promise.all([safetensors.load(join(dir, 'adapter_model.safetensors')), safetensors.load(join(CASES, 'lora', 'adapter', 'adapter_model.safetensors'))]);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const [key, t] of Object.entries(theirs)) {
      expect(ours[key].dtype, key).toBe(t.dtype);
      expect(maxAbsDiff(ours[key], t), key).toBe(0);
    }
    peft.dispose();
  });

  it('creates new adapters in float32 holding bf16-rounded initial values, as PEFT moves them through the base dtype', async () => {
    torch.manualSeed(0);
    const peft = getPeftModel(await bf16Base(), new LoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], use_dora: true, init_lora_weights: false }));
    for (const [name, p] of peft.namedParameters().filter(([, q]) => q.requiresGrad)) {
      expect(p.dtype, name).toBe('float32');
      expect(maxAbsDiff(p, p.to('bfloat16')), name).toBe(0);
    }
    peft.dispose();
  });

  it('trains: the loss falls, LoRA gradients and AdamW state are float32, the bf16 base does not move', async () => {
    const inputs = await load('lora', 'inputs.safetensors');
    torch.manualSeed(0);
    const peft = getPeftModel(await bf16Base(), new LoraConfig({ r: 8, lora_alpha: 16, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }));
    peft.train();
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad);
    const optimizer = new optim.AdamW(trainable, { lr: 1e-2 });
    const baseWeight = peft.getParameter('base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight');
    const before = baseWeight.clone();
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      losses.push(torch.scope(() => {
        const loss = peft.forward({ ...inputs, labels: inputs.input_ids }).loss as Tensor;
        optimizer.zeroGrad();
        loss.backward();
        if (step === 0) for (const [name, p] of trainable) expect(p.grad?.dtype, name).toBe('float32');
        optimizer.step();
        return loss.item();
      }));
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.05);
    const state = Object.entries(optimizer.stateDict().tensors);
    expect(state.length).toBeGreaterThanOrEqual(2 * trainable.length); // exp_avg and exp_avg_sq per parameter
    for (const [name, t] of state) expect(t.dtype, name).toBe('float32');
    expect(baseWeight.dtype).toBe('bfloat16');
    expect(maxAbsDiff(baseWeight, before)).toBe(0);
    before.dispose();
    peft.dispose();
  });

  it('names the accepted dtypes for an unknown one', async () => {
    await expect(models.fromPretrained(BASE, { dtype: 'bf16' as never })).rejects.toThrow(/dtype \(or 'auto'\): expected one of float32, bfloat16, float16, float64, got "bf16"/);
    const model = await models.fromPretrained(BASE);
    expect(() => model.to('bfloat8' as never)).toThrow(/Module\.to: expected one of float32, bfloat16, float16, float64, got "bfloat8"/);
    expect(() => torch.bf16Gemm('fast' as never)).toThrow(/bf16Gemm: expected one of auto, bf16, fp32, got "fast"/);
    model.dispose();
  });
});
