// What PEFT adapts when a LoraConfig names no target_modules: PEFT 0.21's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
// (peft/utils/constants.py), looked up by the model's config.model_type. A type it lacks (Phi-3's "phi3", ViT) is
// PEFT's error, word for word.
import { PeftError } from '../errors.js';
import type { Module } from '../nn/module.js';

export const DEFAULT_LORA_TARGET_MODULES: Readonly<Record<string, readonly string[] | string>> = Object.freeze({
  t5: ['q', 'v'],
  mt5: ['q', 'v'],
  bart: ['q_proj', 'v_proj'],
  gpt2: ['c_attn'],
  bloom: ['query_key_value'],
  'blip-2': ['q', 'v', 'q_proj', 'v_proj'],
  opt: ['q_proj', 'v_proj'],
  gptj: ['q_proj', 'v_proj'],
  gpt_neox: ['query_key_value'],
  gpt_neo: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  'xlm-roberta': ['query', 'value'],
  electra: ['query', 'value'],
  'deberta-v2': ['query_proj', 'value_proj'],
  deberta: ['in_proj'],
  layoutlm: ['query', 'value'],
  llama: ['q_proj', 'v_proj'],
  llama4: ['q_proj', 'v_proj'],
  chatglm: ['query_key_value'],
  gpt_bigcode: ['c_attn'],
  mpt: ['Wqkv'],
  RefinedWebModel: ['query_key_value'],
  RefinedWeb: ['query_key_value'],
  falcon: ['query_key_value'],
  btlm: ['c_proj', 'c_attn'],
  codegen: ['qkv_proj'],
  mistral: ['q_proj', 'v_proj'],
  mixtral: ['q_proj', 'v_proj'],
  stablelm: ['q_proj', 'v_proj'],
  phi: ['q_proj', 'v_proj', 'fc1', 'fc2'],
  gemma: ['q_proj', 'v_proj'],
  gemma2: ['q_proj', 'v_proj'],
  gemma3_text: ['q_proj', 'v_proj'],
  gemma4: String.raw`.*language_model\..*\.(q_proj|v_proj)`,
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
  nemotron_h: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  rwkv: ['key', 'value', 'receptance', 'output'],
  rwkv7: ['r_proj', 'k_proj', 'v_proj', 'o_proj', 'key', 'value'],
});

/** config.model_type of a model of the zoo (PEFT's "custom" for anything else). */
export function modelTypeOf(model: Module): string {
  const config = (model as Module & { config?: { model_type?: unknown } }).config;
  return typeof config?.model_type === 'string' ? config.model_type : 'custom';
}

/**
 * target_modules for a config that gives none (PEFT's `_prepare_adapter_config`): the model type's defaults, as a
 * fresh list (or the regex string); throws PEFT's error when the type has none and no target_parameters are given.
 */
export function defaultTargetModules(model: Module, targetParameters: readonly string[] | null): string[] | string | null {
  const defaults = DEFAULT_LORA_TARGET_MODULES[modelTypeOf(model)];
  if (defaults !== undefined) return typeof defaults === 'string' ? defaults : [...defaults];
  if (targetParameters !== null && targetParameters.length > 0) return null;
  throw new PeftError('Please specify `target_modules` or `target_parameters`in `peft_config`');
}
