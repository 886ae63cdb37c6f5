// LayerNorm and RMSNorm, as torch.nn.LayerNorm / torch.nn.RMSNorm.
import { TorchError } from '../errors.js';
import { layerNorm, rmsNorm } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkPositiveNumber } from './check.js';
import { ones_, zeros_ } from './init.js';
import { Module } from './module.js';
import { emptyParameter, type FactoryOptions, type Parameter } from './parameter.js';

function checkShape(layer: string, value: unknown): number[] {
  const shape = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new TorchError(`${layer}: normalizedShape must be a non-negative integer or a non-empty array of them, got ${JSON.stringify(value)}`);
  }
  return [...shape];
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learn weight (and bias); default true. */
  elementwiseAffine?: boolean;
  /** Learn a bias when elementwiseAffine; default true. */
  bias?: boolean;
}

/** Normalises over the last dims: weight = 1, bias = 0 at init. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = checkShape('LayerNorm', normalizedShape);
    this.eps = checkPositiveNumber('LayerNorm', 'eps', options.eps ?? 1e-5);
    const affine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? emptyParameter(this.normalizedShape, options) : null);
    this.registerParameter('bias', affine && options.bias !== false ? emptyParameter(this.normalizedShape, options) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    const weight = this.weight;
    const bias = this.bias;
    if (weight) ones_(weight);
    if (bias) zeros_(bias);
  }

  get weight(): Parameter | null {
    return this.paramOrNull('weight');
  }

  get bias(): Parameter | null {
    return this.paramOrNull('bias');
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.paramOrNull('weight'), this.paramOrNull('bias'), this.eps);
  }
}

export interface RMSNormOptions extends FactoryOptions {
  /** null (default): the dtype's machine epsilon, as PyTorch. */
  eps?: number | null;
  elementwiseAffine?: boolean;
}

/** Root-mean-square normalisation over the last dims: weight = 1 at init. */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;

  constructor(normalizedShape: number | number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = checkShape('RMSNorm', normalizedShape);
    this.eps = options.eps == null ? null : checkPositiveNumber('RMSNorm', 'eps', options.eps);
    const affine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? emptyParameter(this.normalizedShape, options) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    const weight = this.weight;
    if (weight) ones_(weight);
  }

  get weight(): Parameter | null {
    return this.paramOrNull('weight');
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.paramOrNull('weight'), this.eps ?? undefined);
  }
}
