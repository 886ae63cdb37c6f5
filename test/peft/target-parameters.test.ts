// target_parameters (LoRA on bare parameters: PEFT's lora.ParamWrapper) against PEFT 0.21
// (scripts/fixtures/peft_more_layers.py, target_parameters_case): fused MoE expert weights in both layouts (two
// parameters of one module: nested wrappers) and a Linear's weight, on the same custom model in both languages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, LoraParamWrapper, nn, PeftModel, safetensors, torch, withAdapterNames, type Tensor } from '../../lib/index.js';
import { Experts, TinyMoE } from './custom-models.js';
import { FIXTURES, maxAbsDiff } from './golden.js';

const CASE = join(FIXTURES, 'peft-variants', 'target_parameters');
const TARGETS = ['experts.gate_up_proj', 'experts.down_proj', 'experts_t.gate_up_proj', 'experts_t.down_proj', 'head.weight'];
const TOLERANCE = 1e-4;
const quiet = { warn: (): void => undefined };
const scratch = mkdtempSync(join(tmpdir(), 'peft-target-parameters-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function base(): Promise<TinyMoE> {
  const net = new TinyMoE();
  net.loadStateDict(await safetensors.load(join(CASE, 'base.safetensors')), { strict: true });
  net.eval();
  return net;
}

async function loaded(): Promise<PeftModel> {
  const peft = await PeftModel.fromPretrained(await base(), CASE, quiet);
  await peft.loadAdapter(join(CASE, 'second'), 'second');
  return peft;
}

const config = (extra: Record<string, unknown> = {}): LoraConfig => new LoraConfig({ r: 2, lora_alpha: 4, target_modules: [], target_parameters: TARGETS, ...extra });

describe('target_parameters: PEFT\'s golden case', () => {
  it('the base model matches PyTorch', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    expect(maxAbsDiff((await base()).forward({ x }), expected.logits_base)).toBeLessThanOrEqual(1e-5);
  });

  it('PEFT\'s adapters give PEFT\'s logits: one active, both active, merged, disabled', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const peft = await loaded();
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected['logits.default'])).toBeLessThanOrEqual(TOLERANCE);
    peft.setAdapter(['default', 'second']);
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected['logits.both'])).toBeLessThanOrEqual(TOLERANCE);
    peft.setAdapter('default');
    const experts = peft.model.getSubmodule('experts.base_layer.base_layer');
    const original = experts.param('gate_up_proj').clone();
    peft.mergeAdapter();
    expect(maxAbsDiff(experts.param('gate_up_proj'), expected.experts_gate_up_merged)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected['logits.default_merged'])).toBeLessThanOrEqual(TOLERANCE);
    peft.unmergeAdapter();
    expect(maxAbsDiff(experts.param('gate_up_proj'), original)).toBeLessThanOrEqual(1e-6);
    peft.disableAdapter(() => {
      expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected['logits.disabled'])).toBeLessThanOrEqual(TOLERANCE);
    });
  });

  it('gradients reach lora_A / lora_B through the parametrized weight: PEFT\'s gradients', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const peft = await PeftModel.fromPretrained(await base(), CASE, { ...quiet, isTrainable: true });
    await peft.loadAdapter(join(CASE, 'second'), 'second');
    (peft.forward({ x }) as Tensor).pow(2).sum().backward();
    const trainable = peft.namedParameters().filter(([, p]) => p.requiresGrad);
    const expectedGrads = Object.keys(expected).filter((k) => k.startsWith('grad.'));
    expect(trainable.map(([name]) => `grad.${name}`).sort()).toEqual(expectedGrads.sort());
    for (const [name, p] of trainable) {
      expect(maxAbsDiff(p.grad as Tensor, expected[`grad.${name}`]), name).toBeLessThanOrEqual(TOLERANCE);
    }
    expect(peft.model.getSubmodule('experts.base_layer.base_layer').param('gate_up_proj').grad).toBeNull();
  });

  it('nested wrappers, A/B shapes and saved keys as PEFT\'s; savePretrained writes PEFT\'s files', async () => {
    const peft = await loaded();
    const outer = peft.model.getSubmodule('experts') as LoraParamWrapper;
    const inner = outer.baseLayer as LoraParamWrapper;
    expect([outer.parameterName, inner.parameterName]).toEqual(['down_proj', 'gate_up_proj']);
    expect([inner.numExperts, inner.inFeatures, inner.outFeatures]).toEqual([4, 8, 12]);
    expect((peft.model.getSubmodule('experts_t.base_layer') as LoraParamWrapper).inFeatures).toBe(8);
    await peft.savePretrained(join(scratch, 'saved'), { selectedAdapters: ['default', 'second'] });
    for (const [ours, theirs] of [['saved', '.'], [join('saved', 'second'), 'second']]) {
      const mine = safetensors.loadSync(join(scratch, ours, 'adapter_model.safetensors'));
      const peftFile = safetensors.loadSync(join(CASE, theirs, 'adapter_model.safetensors'));
      expect(Object.keys(mine).sort()).toEqual(Object.keys(peftFile).sort());
      for (const key of Object.keys(peftFile)) expect(maxAbsDiff(mine[key], peftFile[key]), key).toBe(0);
    }
  });

  it('mergeAndUnload leaves the plain model with ΔW in the parameters; unload leaves them untouched', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const merged = (await loaded()).mergeAndUnload() as TinyMoE;
    expect(merged.getSubmodule('experts')).toBeInstanceOf(Experts);
    expect(merged.getSubmodule('head')).toBeInstanceOf(nn.Linear);
    expect(maxAbsDiff(merged.forward({ x }), expected['logits.default'])).toBeLessThanOrEqual(TOLERANCE);
    const plain = (await loaded()).unload() as TinyMoE;
    expect(maxAbsDiff(plain.forward({ x }), expected.logits_base)).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('target_parameters: hotswap', () => {
  it('an adapter of the same rank swaps in place; another rank is refused (rows are interleaved per expert), the model unchanged', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const other = await PeftModel.fromPretrained(await base(), CASE, quiet);
    torch.manualSeed(9);
    torch.noGrad(() => other.namedParameters().filter(([name]) => name.includes('lora_')).forEach(([, p]) => p.add_(torch.randn(p.shape).mul(0.2))));
    await other.savePretrained(join(scratch, 'other'));
    const swapped = other.forward({ x }) as Tensor;
    const peft = await PeftModel.fromPretrained(await base(), CASE, quiet);
    await getPeftModel(await base(), config({ r: 3, init_lora_weights: false }), 'default', quiet).savePretrained(join(scratch, 'rank3'));
    await expect(peft.hotswapAdapter(join(scratch, 'rank3'), 'default')).rejects.toThrow(/interleaves its rank per expert/);
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected['logits.default'])).toBeLessThanOrEqual(TOLERANCE);
    await peft.hotswapAdapter(join(scratch, 'other'), 'default');
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, swapped)).toBeLessThanOrEqual(1e-6);
  });
});

describe('target_parameters: new adapters and what PEFT refuses', () => {
  it('a fresh adapter starts as the identity (B = 0); parameters of the root module are refused', async () => {
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    const expected = await safetensors.load(join(CASE, 'expected.safetensors'));
    const peft = getPeftModel(await base(), config({ init_lora_weights: true }), 'default', quiet);
    expect(maxAbsDiff(peft.forward({ x }) as Tensor, expected.logits_base)).toBeLessThanOrEqual(1e-6);
    expect(() => getPeftModel(new Experts(2, 4, 3), new LoraConfig({ target_modules: [], target_parameters: ['gate_up_proj'] }), 'default', quiet))
      .toThrow(/Targeting an nn.Parameter on the top-level module is not supported \(parameter 'gate_up_proj'\)/);
  });

  it('refuses lora_dropout, DoRA, lora_bias and fan_in_fan_out with PEFT\'s messages', async () => {
    expect(() => getPeftModel(new TinyMoE(), config({ lora_dropout: 0.1 }), 'default', quiet)).toThrow(/lora.ParamWrapper does not work with lora_dropout != 0/);
    expect(() => getPeftModel(new TinyMoE(), config({ use_dora: true }), 'default', quiet)).toThrow(/lora.ParamWrapper does not work with use_dora=True/);
    expect(() => getPeftModel(new TinyMoE(), config({ lora_bias: true }), 'default', quiet)).toThrow(/lora.ParamWrapper does not work with lora_bias=True/);
    expect(() => getPeftModel(new TinyMoE(), config({ fan_in_fan_out: true }), 'default', quiet)).toThrow(/lora.ParamWrapper does not work with fan_in_fan_out/);
    expect(() => getPeftModel(new TinyMoE(), config({ init_lora_weights: 'pissa' }), 'default', quiet)).toThrow(/"pissa" is not supported for target_parameters/);
  });

  it('refuses a module both targeted and holding a targeted parameter, mixed batches, weighted adapters, differing sets', async () => {
    expect(() => getPeftModel(new TinyMoE(), config({ target_modules: ['head'] }), 'default', quiet)).toThrow(/Trying to wrap an `nn.Parameter` of layer 'head'.*target_modules=\[\]/);
    const peft = await loaded();
    peft.eval();
    const { x } = await safetensors.load(join(CASE, 'inputs.safetensors'));
    expect(() => withAdapterNames(['default', 'second', 'default', 'second', 'default', 'second'], () => peft.forward({ x }))).toThrow(/does not support mixed adapter batches/);
    expect(() => peft.forward({ x, adapter_names: ['default', 'second', 'default', 'second', 'default', 'second'] } as never)).toThrow(/does not support mixed adapter batches/);
    expect(() => peft.addWeightedAdapter(['default', 'second'], [0.5, 0.5], 'mix')).toThrow(/add_weighted_adapter does not support targeting nn.Parameter \(problematic adapter 'default'\)/);
    expect(() => peft.addAdapter('other', config({ target_parameters: ['head.weight'] }))).toThrow(/all adapters must target the same set of parameters/);
  });

  it('a module whose forward reads the parameter with param() instead of value() is an error, not a silent no-op', () => {
    class RawReader extends nn.Module {
      constructor() {
        super();
        this.registerParameter('weight', nn.emptyParameter([3, 3]));
      }

      forward(x: Tensor): Tensor {
        return x.matmul(this.param('weight'));
      }
    }
    class Holder extends nn.Module {
      constructor() {
        super();
        this.registerModule('inner', new RawReader());
      }

      forward(x: Tensor): Tensor {
        return this.child<RawReader>('inner').forward(x);
      }
    }
    const peft = getPeftModel(new Holder(), new LoraConfig({ target_modules: [], target_parameters: ['inner.weight'] }), 'default', quiet);
    expect(() => peft.forward(torch.ones([1, 3]) as never)).toThrow(/read its parameter 'weight' with param\(\) while a parametrization stands in for it/);
  });
});
