// The LoRA variants of PEFT 0.21's LoraConfig: which node-peft implements (DoRA, rsLoRA, aLoRA, lora_bias,
// trainable tokens, Gaussian init) and which it refuses with an error naming the field and the PEFT feature, so that
// an adapter never loads "successfully" and computes something PEFT would not.
import { PeftError } from '../errors.js';
import type { LoraConfig } from './config.js';

interface UnsupportedVariant {
  field: keyof LoraConfig;
  feature: string;
  /** The field selects the variant (PEFT ignores it otherwise). */
  selects: (config: LoraConfig) => boolean;
}

const UNSUPPORTED: readonly UnsupportedVariant[] = [
  { field: 'velora_config', feature: 'VeLoRA (velora_config)', selects: (c) => c.velora_config !== null },
  { field: 'use_qalora', feature: 'QA-LoRA (quantization-aware LoRA, use_qalora / qalora_group_size)', selects: (c) => c.use_qalora },
  { field: 'monteclora_config', feature: 'MonteCLoRA (monteclora_config)', selects: (c) => c.monteclora_config !== null },
  { field: 'use_bdlora', feature: 'BD-LoRA (block-diagonal LoRA, use_bdlora)', selects: (c) => c.use_bdlora !== null },
  { field: 'arrow_config', feature: 'Arrow (mixture-of-LoRA routing, arrow_config)', selects: (c) => c.arrow_config !== null },
  { field: 'kasa_config', feature: 'KaSA (knowledge-aware singular-value adaptation, kasa_config)', selects: (c) => c.kasa_config !== null },
  { field: 'megatron_config', feature: 'Megatron tensor-parallel LoRA layers (megatron_config)', selects: (c) => c.megatron_config !== null },
  { field: 'layer_replication', feature: 'layer replication (layer_replication)', selects: (c) => c.layer_replication !== null },
];

/** init_lora_weights values and the PEFT initialisation each names. */
const UNSUPPORTED_INITS: readonly [RegExp, string][] = [
  [/^loftq$/, 'LoftQ initialisation (quantization-aware; changes the base weights)'],
  [/^eva$/, 'EVA initialisation (data-driven, eva_config)'],
  [/^corda$/, 'CorDA initialisation (data-driven, corda_config)'],
  [/^lora_ga$/, 'LoRA-GA initialisation (gradient-driven, lora_ga_config)'],
];

/**
 * Throws PeftError for a config that selects a variant node-peft does not implement: the message names the
 * field, its value and the PEFT feature. Fields PEFT itself ignores unless their variant is selected pass.
 */
export function refuseUnsupportedVariants(config: LoraConfig): void {
  for (const variant of UNSUPPORTED) {
    if (!variant.selects(config)) continue;
    throw new PeftError(
      `LoraConfig.${String(variant.field)} = ${JSON.stringify(config[variant.field])}: node-peft does not implement PEFT's ${variant.feature}; ` +
        'an adapter using it would give other outputs than PEFT, so it is refused',
    );
  }
  const init = config.init_lora_weights;
  if (typeof init === 'string' && !['gaussian', 'pissa', 'olora', 'orthogonal'].includes(init) && !/^pissa_niter_\d+$/.test(init)) {
    const named = UNSUPPORTED_INITS.find(([pattern]) => pattern.test(init));
    throw new PeftError(
      `LoraConfig.init_lora_weights = ${JSON.stringify(init)}: node-peft implements true, false, "gaussian", "pissa", "pissa_niter_<N>", "olora" and "orthogonal", not ` +
        `${named ? `PEFT's ${named[1]}` : 'this initialisation'}`,
    );
  }
}

/** Embedding layers PEFT ties (lm_head to embed_tokens): what ensure_weight_tying acts on. */
const EMBEDDING_LAYER_NAMES = ['embed_tokens', 'lm_head'];

/**
 * ensure_weight_tying (PEFT 0.18+): ties the adapters of tied embedding layers. node-peft refuses it when it would
 * act (the model has tied weights and an embedding layer is targeted or in modules_to_save) and warns as PEFT does
 * when it has nothing to tie.
 */
export function checkWeightTying(config: LoraConfig, tiedParameters: readonly [string, string][], warn: (m: string) => void): void {
  if (!config.ensure_weight_tying) return;
  if (tiedParameters.length === 0) {
    warn('You have requested `ensure_weight_tying`, but no tied modules were found in the model');
    return;
  }
  const lastNames = (list: string[] | string | null): string[] => (Array.isArray(list) ? list.map((n) => n.split('.').pop() as string) : []);
  const touched = [...lastNames(config.target_modules), ...lastNames(config.modules_to_save)].some((n) => EMBEDDING_LAYER_NAMES.includes(n));
  if (!touched) {
    warn('You have requested `ensure_weight_tying`, but no tied modules are added in either `modules_to_save` or `target_modules`');
    return;
  }
  throw new PeftError('LoraConfig.ensure_weight_tying = true: node-peft does not implement PEFT\'s tying of adapters on tied embedding layers (embed_tokens / lm_head)');
}
