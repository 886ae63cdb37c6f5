// DoRA, all of its math: the per-adapter magnitude vector (PEFT's lora_magnitude_vector.<adapter>.weight), the
// weight norms per layer layout, the forward term and the merge / unmerge of the scaled weight. LoRA layers supply
// their layout (norm, how a magnitude-shaped factor scales W, the output bias); Linear's forward runs the same
// formula fused in one native call (tensor/lora.ts doraLinear, re-exported here).
import { PeftError } from '../errors.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

export { doraLinear } from '../tensor/lora.js';

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

/**
 * The output with one DoRA adapter: y + (f−1)·(y − bias) + f·term, f = m/‖W+ΔW‖ (the norm detached: PEFT's eval
 * form, also used in training). y: the output so far (base plus earlier adapters), term: scaling·B(A(x)).
 */
export function doraOutput(y: Tensor, term: Tensor, magnitude: Tensor, norm: Tensor, bias: Tensor | null): Tensor {
  const f = magnitude.div(norm);
  const out = y.add(f.sub(1).mul(bias ? y.sub(bias) : y)).add(f.mul(term));
  f.dispose();
  return out;
}

/** Merge: (W + ΔW)·m/‖W + ΔW‖; scaleForWeight shapes the magnitude-shaped factor to W's layout. */
export function doraMergedWeight(weightPlusDelta: Tensor, magnitude: Tensor, norm: Tensor, scaleForWeight: (factor: Tensor) => Tensor): Tensor {
  return weightPlusDelta.mul(scaleForWeight(magnitude.div(norm)));
}

/** Unmerge with the norm kept at merge time: W = merged/(m/‖W + ΔW‖) − ΔW, exactly the weight before merging. */
export function doraUnmergedWeight(merged: Tensor, delta: Tensor, magnitude: Tensor, norm: Tensor, scaleForWeight: (factor: Tensor) => Tensor): Tensor {
  return merged.div(scaleForWeight(magnitude.div(norm))).sub(delta);
}
