// transformers' _init_weights for a model built from scratch: Linear/Conv1D/Conv2d/Embedding weights
// ~ N(0, initializer_range), biases 0, norms 1/0, embedding padding rows 0.
import { Conv2d } from '../nn/conv.js';
import { Embedding } from '../nn/embedding.js';
import { normal_, ones_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { LayerNorm, RMSNorm } from '../nn/normalization.js';
import type { ConfigJson } from './config.js';
import { Conv1D } from './conv1d.js';

/** config.initializer_range, or transformers' default 0.02. */
export function initializerRange(config: ConfigJson): number {
  return typeof config.initializer_range === 'number' ? config.initializer_range : 0.02;
}

export function initWeights(model: Module, std: number): void {
  for (const module of model.modules()) {
    if (module instanceof Linear || module instanceof Conv1D || module instanceof Conv2d) {
      normal_(module.param('weight'), 0, std);
      const bias = module.paramOrNull('bias');
      if (bias) zeros_(bias);
    } else if (module instanceof Embedding) {
      normal_(module.weight, 0, std);
      module.zeroPaddingRow();
    } else if (module instanceof LayerNorm || module instanceof RMSNorm) {
      const weight = module.paramOrNull('weight');
      const bias = module.paramOrNull('bias');
      if (weight) ones_(weight);
      if (bias) zeros_(bias);
    }
  }
}
