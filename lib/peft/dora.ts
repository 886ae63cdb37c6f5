// DoRA: the per-adapter magnitude vector (PEFT's lora_magnitude_vector.<adapter>.weight) and its weight norms.
import { PeftError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

/** Holds the magnitude m as parameter `weight`; the layer that owns it does the math. */
export class DoraMagnitude extends Module {
  constructor(magnitude: Tensor) {
    super();
    this.registerParameter('weight', new Parameter(magnitude));
  }

  get weight(): Parameter {
    return this.param('weight');
  }

  forward(): never {
    throw new PeftError('DoraMagnitude has no forward(); the LoRA layer applies it');
  }
}

/** Column norms of an embedding-shaped matrix (num_embeddings, dim): one norm per embedding dimension. */
export function embeddingWeightNorm(weightPlusDelta: Tensor): Tensor {
  return noGrad(() => weightPlusDelta.norm(2, 0));
}

/** Conv norms: L2 over every dim but the output channel, shaped (1, out, 1, 1) as PEFT stores them. */
export function convWeightNorm(weightPlusDelta: Tensor): Tensor {
  return noGrad(() => {
    const dims = Array.from({ length: weightPlusDelta.ndim }, (_, i) => i).filter((d) => d !== 0);
    const norm = weightPlusDelta.norm(2, dims, true);
    const out = norm.transpose(0, 1);
    norm.dispose();
    return out;
  });
}
