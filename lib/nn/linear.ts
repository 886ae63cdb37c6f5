// Linear and Identity, as torch.nn.Linear / torch.nn.Identity.
import { linear } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegativeInt } from './check.js';
import { biasUniform_, kaimingUniform_ } from './init.js';
import { Module } from './module.js';
import { emptyParameter, type FactoryOptions, type Parameter } from './parameter.js';

export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/** y = x Wᵀ + b with weight [outFeatures, inFeatures] and bias [outFeatures]; PyTorch's default init. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = checkNonNegativeInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkNonNegativeInt('Linear', 'outFeatures', outFeatures);
    this.registerParameter('weight', emptyParameter([outFeatures, inFeatures], options));
    this.registerParameter('bias', options.bias === false ? null : emptyParameter([outFeatures], options));
    this.resetParameters();
  }

  /** As PyTorch: weight ~ kaiming_uniform(a=√5), bias ~ U(±1/√inFeatures); same RNG order. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    const bias = this.bias;
    if (bias) biasUniform_(bias, this.weight);
  }

  get weight(): Parameter {
    return this.param('weight');
  }

  get bias(): Parameter | null {
    return this.paramOrNull('bias');
  }

  forward(x: Tensor): Tensor {
    // (..., in) -> (..., out)
    return linear(x, this.param('weight'), this.paramOrNull('bias'));
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
