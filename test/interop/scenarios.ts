// Adapters node-peft makes and saves for the interop checks: getPeftModel on a golden base model, every trainable
// tensor moved away from its initial value (as training would), node-peft's logits written beside the adapter.
import { join } from 'node:path';
import { getPeftModel, LoraConfig, models, PeftModel, safetensors, torch, type LoraConfigInit, type Tensor } from '../../lib/index.js';
import type { KeyFormat } from '../../lib/peft/index.js';
import { FIXTURES } from '../peft/golden.js';

export interface InteropScenario {
  name: string;
  /** A golden case folder: its base/ and inputs.safetensors are used (unless base / inputs name others). */
  goldenCase: string;
  base?: string;
  inputs?: string;
  /** Moves the trainable tensors as training would (default: simulateTraining). */
  train?: (peft: PeftModel, inputs: Record<string, Tensor>) => void;
  adapters: { name: string; config: LoraConfigInit }[];
  /** One adapter name per batch row for a mixed-batch forward. */
  mixedAdapterNames?: string[];
  keyFormat?: KeyFormat;
}

/** What one scenario left on disk, in the shape scripts/interop/check_adapters.py reads. */
export interface PythonCase {
  name: string;
  base: string;
  inputs: string;
  adapters: { name: string; dir: string }[];
  ours: string;
  ours_keys: Record<string, string>;
  mixed_adapter_names?: string[];
  labels?: string;
}

export interface BuiltScenario {
  pythonCase: PythonCase;
  adapterRoot: string;
  /** max |adapter logits - base logits| per adapter: proof the adapter changes the output. */
  effectOnLogits: Record<string, number>;
}

const lora = (init: LoraConfigInit): LoraConfigInit => ({ r: 4, lora_alpha: 8, init_lora_weights: false, ...init });
const golden = (name: string): string => join(FIXTURES, 'peft-golden', name);

export const ADAPTER_SCENARIOS: InteropScenario[] = [
  { name: 'vit_lora_classifier', goldenCase: golden('01_vit_lora_classifier'), adapters: [{ name: 'default', config: lora({ target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier'] }) }] },
  { name: 'vit_embeddings_module', goldenCase: golden('02b_vit_resized_embeddings_module'), adapters: [{ name: 'default', config: lora({ target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'vit.embeddings'] }) }] },
  { name: 'gpt2_conv1d_fan_in_fan_out', goldenCase: golden('05_gpt2_conv1d_fan_in_fan_out'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['c_attn', 'c_proj'], fan_in_fan_out: true }) }] },
  { name: 'bert_seq_cls_bias_lora_only', goldenCase: golden('06_bert_classifier_bias_lora_only'), adapters: [{ name: 'default', config: lora({ task_type: 'SEQ_CLS', target_modules: ['query', 'value'], modules_to_save: ['classifier'], bias: 'lora_only' }) }] },
  {
    name: 'llama_two_named_adapters_mixed', goldenCase: golden('10_llama_mixed_batch_base_row'),
    adapters: [
      { name: 'first', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj'] }) },
      { name: 'second', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['k_proj', 'o_proj', 'up_proj'], r: 2, lora_alpha: 2 }) },
    ],
    mixedAdapterNames: ['first', '__base__', 'second', 'first'],
  },
  { name: 'llama_all_linear_rslora', goldenCase: golden('03_llama_all_linear_rslora'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: 'all-linear', r: 8, lora_alpha: 16, use_rslora: true }) }] },
  { name: 'llama_dora', goldenCase: golden('08_llama_dora'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj', 'o_proj'], use_dora: true }) }] },
  { name: 'llama_lora_embedding', goldenCase: golden('09_llama_lora_embedding'), adapters: [{ name: 'default', config: lora({ target_modules: ['embed_tokens'] }) }] },
  { name: 'llama_trainable_tokens', goldenCase: golden('12_llama_trainable_tokens'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj'], trainable_token_indices: [3, 7, 42] }) }] },
  { name: 'llama_trainable_tokens_tied', goldenCase: golden('12b_llama_trainable_tokens_tied'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj'], trainable_token_indices: [2, 11, 60] }) }] },
  { name: 'qwen2_lora_bias', goldenCase: golden('11_qwen2_attention_bias_all_proj'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'k_proj', 'v_proj'], lora_bias: true }) }] },
  {
    // aLoRA: the invocation [49, 27] is in row 0 only (from position 2 on); the mixed batch runs it per row as PEFT
    name: 'llama_alora', goldenCase: golden('10_llama_mixed_batch_base_row'),
    adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'v_proj', 'down_proj'], alora_invocation_tokens: [49, 27] }) }],
    mixedAdapterNames: ['default', '__base__', 'default', '__base__'],
  },
  { name: 'qwen2_all_projections', goldenCase: golden('11_qwen2_attention_bias_all_proj'), adapters: [{ name: 'default', config: lora({ task_type: 'CAUSAL_LM', target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }) }] },
];

/** The seed case: a resized ViT, the bare position_embeddings parameter trained and saved under its own key. */
export const SEED_SCENARIO: InteropScenario = {
  name: 'vit_resized_position_embeddings_parameter', goldenCase: golden('02_vit_resized_posemb_param'),
  adapters: [{ name: 'default', config: lora({ target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'] }) }],
};

/** A ViT adapter written in transformers-4 names (PEFT 0.21 on transformers 5 is expected to refuse it). */
export const TRANSFORMERS4_SCENARIO: InteropScenario = {
  name: 'vit_keyformat_transformers4', goldenCase: golden('01_vit_lora_classifier'),
  adapters: [{ name: 'default', config: lora({ target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier'] }) }],
  keyFormat: 'transformers4',
};

type Forward = { forward(inputs: never): unknown };

function logitsOf(model: Forward, inputs: Record<string, unknown>): Tensor {
  return torch.noGrad(() => (model.forward(inputs as never) as { logits: Tensor }).logits.contiguous());
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return torch.scope(() => a.sub(b).abs().max().item());
}

/** Adds 0.05·N(0, 1) to every parameter that trains with the active adapter, as the golden fixtures did. */
function simulateTraining(peft: PeftModel): void {
  torch.noGrad(() => {
    for (const [, p] of peft.namedParameters()) {
      if (p.requiresGrad) torch.scope(() => p.add_(torch.randn(p.shape).mul(0.05)));
    }
  });
}

export async function buildScenario(scenario: InteropScenario, outDir: string): Promise<BuiltScenario> {
  torch.manualSeed(1234);
  const base = scenario.base ?? join(scenario.goldenCase, 'base');
  const inputsPath = scenario.inputs ?? join(scenario.goldenCase, 'inputs.safetensors');
  const inputs = await safetensors.load(inputsPath);
  const [first, ...others] = scenario.adapters;
  const quiet = { warn: (): void => undefined };
  const peft = getPeftModel(await models.fromPretrained(base), new LoraConfig(first.config, quiet), first.name, quiet);
  for (const adapter of others) peft.addAdapter(adapter.name, new LoraConfig(adapter.config, quiet));
  for (const adapter of scenario.adapters) {
    peft.setAdapter(adapter.name);
    (scenario.train ?? simulateTraining)(peft, inputs);
  }
  peft.eval();

  const logits: Record<string, Tensor> = {};
  const effectOnLogits: Record<string, number> = {};
  logits.logits_disabled = peft.disableAdapter(() => logitsOf(peft, inputs));
  for (const adapter of scenario.adapters) {
    peft.setAdapter(adapter.name);
    logits[`logits.${adapter.name}`] = logitsOf(peft, inputs);
    effectOnLogits[adapter.name] = maxAbsDiff(logits[`logits.${adapter.name}`], logits.logits_disabled);
  }
  peft.setAdapter(first.name);
  if (scenario.mixedAdapterNames) logits.logits_mixed = logitsOf(peft, { ...inputs, adapter_names: scenario.mixedAdapterNames });

  const adapterRoot = join(outDir, scenario.name, 'adapter');
  await peft.savePretrained(adapterRoot, scenario.keyFormat ? { keyFormat: scenario.keyFormat } : {});
  const ours = join(outDir, scenario.name, 'node-peft-logits.safetensors');
  await safetensors.save(ours, logits);
  for (const t of [...Object.values(logits), ...Object.values(inputs)]) t.dispose();
  peft.dispose();

  const oursKeys: Record<string, string> = { __disabled__: 'logits_disabled' };
  for (const adapter of scenario.adapters) oursKeys[adapter.name] = `logits.${adapter.name}`;
  if (scenario.mixedAdapterNames) oursKeys.__mixed__ = 'logits_mixed';
  return {
    adapterRoot,
    effectOnLogits,
    pythonCase: {
      name: scenario.name,
      base,
      inputs: inputsPath,
      adapters: scenario.adapters.map((a) => ({ name: a.name, dir: a.name === 'default' ? adapterRoot : join(adapterRoot, a.name) })),
      ours,
      ours_keys: oursKeys,
      ...(scenario.mixedAdapterNames ? { mixed_adapter_names: scenario.mixedAdapterNames } : {}),
    },
  };
}
