// Linear and Identity, as torch.nn.Linear / torch.nn.Identity.
import { linear } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegativeInt } from './check.js';
import { Module } from './module.js';
import type { FactoryOptions } from './parameter.js';
import { WeightBiasLayer } from './weight-bias-layer.js';

export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/** y = x Wᵀ + b with weight [outFeatures, inFeatures] and bias [outFeatures]; PyTorch's default init. */
export class Linear extends WeightBiasLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = checkNonNegativeInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkNonNegativeInt('Linear', 'outFeatures', outFeatures);
    this.registerWeightAndBias([outFeatures, inFeatures], options);
  }

  forward(x: Tensor): Tensor {
    // (..., in) -> (..., out)
    return linear(x, this.value('weight'), this.valueOrNull('bias'));
  }

  override toString(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null})`;
  }
}

/** Returns its input unchanged (the same tensor object). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
