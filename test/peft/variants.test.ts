// Every LoRA variant field of PEFT 0.21's LoraConfig is implemented (golden cases in variants-golden.test.ts and
// peft-golden.test.ts) or refused with an error naming the field and the PEFT feature; fields PEFT ignores unless
// their variant is selected pass.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, LoraConfig, LORA_CONFIG_FIELDS, nn, PeftError, PeftModel, safetensors, torch, type LoraConfigInit, type Tensor } from '../../lib/index.js';

class Net extends nn.Module {
  constructor(bias = true) {
    super();
    this.registerModule('fc1', new nn.Linear(6, 5, { bias }));
    this.registerModule('fc2', new nn.Linear(5, 3));
  }

  forward(inputs: Record<string, unknown>): { logits: Tensor } {
    const x = inputs.x as Tensor;
    return { logits: this.child<nn.Linear>('fc2').forward(this.child<nn.Linear>('fc1').forward(x)) };
  }
}

const quiet = { warn: (): void => undefined };
const make = (extra: LoraConfigInit): LoraConfig => new LoraConfig({ r: 2, lora_alpha: 4, target_modules: ['fc1', 'fc2'], ...extra }, quiet);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** field, a value selecting the variant, and the PEFT feature the error must name. */
const REFUSED: [string, LoraConfigInit, RegExp][] = [
  ['velora_config', { velora_config: { num_groups: 2 } }, /VeLoRA/],
  ['use_qalora', { use_qalora: true }, /QA-LoRA/],
  ['monteclora_config', { monteclora_config: { n_samples: 4 } }, /MonteCLoRA/],
  ['use_bdlora', { use_bdlora: { nblocks: 2 } }, /BD-LoRA/],
  ['arrow_config', { arrow_config: { top_k: 2 } }, /Arrow/],
  ['kasa_config', { kasa_config: { beta: 0.1 } }, /KaSA/],
  ['megatron_config', { megatron_config: { tensor_model_parallel_size: 2 } }, /Megatron/],
  ['layer_replication', { layer_replication: [[0, 1]] }, /layer replication/],
];

const REFUSED_INITS: [string, RegExp][] = [
  ['pissa_niter_four', /node-peft implements .*pissa_niter_<N>/], ['eva', /EVA/], ['corda', /CorDA/], ['lora_ga', /LoRA-GA/],
];

describe('refused variants: the error names the field and the PEFT feature', () => {
  for (const [field, init, feature] of REFUSED) {
    it(`${field}`, () => {
      const model = new Net();
      let error: unknown;
      try {
        getPeftModel(model, make(init), 'default', quiet);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PeftError);
      expect((error as Error).message).toContain(`LoraConfig.${field}`);
      expect((error as Error).message).toMatch(feature);
      expect(model.namedModules().map(([n]) => n)).toEqual(['', 'fc1', 'fc2']); // untouched
    });
  }

  for (const [init, feature] of REFUSED_INITS) {
    it(`init_lora_weights = "${init}"`, () => {
      expect(() => getPeftModel(new Net(), make({ init_lora_weights: init }), 'default', quiet)).toThrow(feature);
    });
  }

  it('loftq (config with loftq_config)', () => {
    expect(() => getPeftModel(new Net(), make({ init_lora_weights: 'loftq', loftq_config: { loftq_bits: 4 } }), 'default', quiet)).toThrow(/LoftQ/);
  });

  it('a saved adapter using a refused variant fails to load and leaves the model as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-peft-variants-'));
    dirs.push(dir);
    await getPeftModel(new Net(), make({}), 'default', quiet).savePretrained(dir);
    const config = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, kasa_config: { beta: 0.1 } }));
    const model = new Net();
    await expect(PeftModel.fromPretrained(model, dir, quiet)).rejects.toThrow(/kasa_config.*KaSA/);
    expect(model.namedModules().map(([n]) => n)).toEqual(['', 'fc1', 'fc2']);
  });

  it('ensure_weight_tying: refused where it would tie adapters, PEFT\'s warning where there is nothing to tie', () => {
    const warnings: string[] = [];
    getPeftModel(new Net(), make({ ensure_weight_tying: true }), 'default', { warn: (m) => warnings.push(m) });
    expect(warnings).toContain('You have requested `ensure_weight_tying`, but no tied modules were found in the model');
    class Tied extends Net {
      tiedParameters(): [string, string][] {
        return [['lm_head.weight', 'embed_tokens.weight']];
      }
    }
    expect(() => getPeftModel(new Tied(), make({ ensure_weight_tying: true, modules_to_save: ['lm_head'] }), 'default', quiet)).toThrow(/ensure_weight_tying.*tied embedding/);
  });
});

describe('variant fields PEFT ignores unless their variant is selected pass', () => {
  it('qalora_group_size without use_qalora, eva/corda/lora_ga configs without their init, alora on a Linear', () => {
    for (const init of [{ qalora_group_size: 32 }, { eva_config: { rho: 2 } }, { corda_config: { corda_method: 'kpm' } }, { lora_ga_config: { bsz: 2 } }, { alora_invocation_tokens: [1, 2], task_type: 'CAUSAL_LM' as const }]) {
      expect(() => getPeftModel(new Net(), make(init), 'default', quiet), JSON.stringify(init)).not.toThrow();
    }
  });

  it('covers every field of PEFT 0.21\'s LoraConfig: each is implemented, refused, or not a variant', () => {
    const variantFields = new Set([...REFUSED.map(([f]) => f), 'qalora_group_size', 'init_lora_weights', 'loftq_config', 'eva_config', 'corda_config', 'lora_ga_config',
      'use_dora', 'use_rslora', 'alora_invocation_tokens', 'lora_bias', 'ensure_weight_tying', 'megatron_core', 'trainable_token_indices', 'target_parameters']);
    const plain = ['task_type', 'peft_type', 'auto_mapping', 'peft_version', 'base_model_name_or_path', 'revision', 'inference_mode', 'r', 'target_modules',
      'exclude_modules', 'lora_alpha', 'lora_dropout', 'fan_in_fan_out', 'bias', 'modules_to_save', 'layers_to_transform', 'layers_pattern', 'rank_pattern', 'alpha_pattern'];
    expect(LORA_CONFIG_FIELDS.filter((f) => !variantFields.has(f) && !plain.includes(f))).toEqual([]);
  });
});

describe('lora_bias beyond the golden case', () => {
  it('is refused on Embedding layers (as PEFT) and warns when the base has no bias; merging then fails as PEFT', () => {
    const warnings: string[] = [];
    torch.manualSeed(0);
    const peft = getPeftModel(new Net(false), make({ lora_bias: true, init_lora_weights: false }), 'default', { warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => w.includes("`lora_bias=True` was passed but the targeted layer of type Linear has no bias"))).toBe(true);
    expect(Object.keys(peft.getPeftModelStateDict()).filter((k) => k.endsWith('lora_B.bias'))).toEqual(['base_model.model.fc1.lora_B.bias', 'base_model.model.fc2.lora_B.bias']);
    expect(() => peft.mergeAdapter()).toThrow('Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias.');
  });

  it('lora_B.bias starts at zero with the default init (the adapter starts as the identity)', async () => {
    const peft = getPeftModel(new Net(), make({ lora_bias: true }), 'default', quiet);
    const x = torch.randn([2, 6]);
    const withAdapter = peft.forward({ x }).logits;
    const without = peft.disableAdapter(() => peft.forward({ x }).logits);
    expect(withAdapter.sub(without).abs().max().item()).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), 'node-peft-bias-')), 'a');
    dirs.push(file);
    await peft.savePretrained(file);
    expect(Object.keys(safetensors.loadSync(join(file, 'adapter_model.safetensors'))).sort()).toEqual([
      'base_model.model.fc1.lora_A.weight', 'base_model.model.fc1.lora_B.bias', 'base_model.model.fc1.lora_B.weight',
      'base_model.model.fc2.lora_A.weight', 'base_model.model.fc2.lora_B.bias', 'base_model.model.fc2.lora_B.weight',
    ]);
  });
});
