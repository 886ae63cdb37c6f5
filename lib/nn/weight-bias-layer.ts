// What Linear and Conv2d share: a `weight` whose first dimension is the output size, an optional `bias` of that
// size, and PyTorch's reset_parameters for both (weight ~ kaiming_uniform(a=√5), bias ~ U(±1/√fan_in)).
import { biasUniform_, kaimingUniform_ } from './init.js';
import { Module } from './module.js';
import { emptyParameter, type FactoryOptions, type Parameter } from './parameter.js';

export abstract class WeightBiasLayer extends Module {
  /** Registers weight (weightShape) and, unless bias is false, bias [weightShape[0]]; then initialises them. */
  protected registerWeightAndBias(weightShape: readonly number[], options: FactoryOptions & { bias?: boolean }): void {
    this.registerParameter('weight', emptyParameter(weightShape, options));
    this.registerParameter('bias', options.bias === false ? null : emptyParameter([weightShape[0]], options));
    this.resetParameters();
  }

  /** As PyTorch: weight ~ kaiming_uniform(a=√5), bias ~ U(±1/√fan_in); the same RNG calls in the same order. */
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
}
