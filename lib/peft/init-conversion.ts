// PEFT's conversion of a PiSSA / OLoRA adapter to a plain LoRA adapter on save (save_pretrained with
// path_initial_model_for_weight_conversion): such an adapter trained on the residual base W − s·B₀A₀, so its change
// to the original W is s·(BA − B₀A₀) = s·[B | −B₀]·[A ; A₀]. The saved adapter has rank 2r, lora_alpha 2α (rsLoRA:
// √2·α, the same scaling) and init_lora_weights true, and applies to the unchanged base model.
import { join } from 'node:path';
import { PeftError } from '../errors.js';
import { loadSync } from '../serialization/index.js';
import { cat } from '../tensor/ops-shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoraConfig } from './config.js';

/**
 * Returns the converted tensors (new tensors for lora_A / lora_B keys, the others as given) and changes `config` (a
 * copy about to be written) as PEFT does. initialDir: the adapter saved right after initialisation, before training.
 */
export function convertMutatedInit(config: LoraConfig, tensors: Record<string, Tensor>, initialDir: string, warn: (m: string) => void): Record<string, Tensor> {
  if (config.use_rslora && (Object.keys(config.rank_pattern).length > 0 || Object.keys(config.alpha_pattern).length > 0)) {
    throw new PeftError('Passing `path_initial_model_for_weight_conversion` to `save_pretrained` is not supported when using `rank_pattern` or `alpha_pattern` at the same time as `use_rslora=True`.');
  }
  if (!['pissa', 'olora', 'corda', 'lora_ga', 'true'].some((prefix) => String(config.init_lora_weights).toLowerCase().startsWith(prefix))) {
    warn('`path_initial_model_for_weight_conversion` only works for converting a PiSSA/CorDA/OLoRA/LoRA-GA adapter to a LoRA adapter');
  }
  const initial = loadSync(join(initialDir, 'adapter_model.safetensors'));
  const out: Record<string, Tensor> = {};
  try {
    for (const [key, t] of Object.entries(tensors)) {
      const isA = key.includes('lora_A');
      if (!isA && !key.includes('lora_B')) {
        out[key] = t;
        continue;
      }
      const start = initial[key];
      if (!start) throw new PeftError(`initialAdapterDir ${initialDir}: the initial adapter has no ${key}`);
      if (isA) out[key] = cat([t, start], 0);
      else {
        const negated = start.neg();
        out[key] = cat([t, negated], 1);
        negated.dispose();
      }
      t.dispose();
    }
  } finally {
    for (const t of Object.values(initial)) t.dispose();
  }
  config.init_lora_weights = true;
  config.r *= 2;
  config.lora_alpha *= config.use_rslora ? Math.SQRT2 : 2;
  config.rank_pattern = Object.fromEntries(Object.entries(config.rank_pattern).map(([k, v]) => [k, 2 * v]));
  config.alpha_pattern = Object.fromEntries(Object.entries(config.alpha_pattern).map(([k, v]) => [k, 2 * v]));
  return out;
}
