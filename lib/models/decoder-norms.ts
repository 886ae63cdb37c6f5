// The RMSNorm variants of the decoder families: Llama's (weight · normalised x, cast back first) and Gemma's
// (normalised x · (1 + weight), all in float32, then cast; the weight starts at zero).
import { zeros_ } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { RMSNorm } from '../nn/normalization.js';
import { emptyParameter } from '../nn/parameter.js';
import { rmsNorm } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorModule } from './base.js';

export class GemmaRMSNorm extends Module {
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, eps: number) {
    super();
    this.dim = dim;
    this.eps = eps;
    this.registerParameter('weight', emptyParameter([dim]));
    zeros_(this.param('weight'));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const normalised = rmsNorm(x.to('float32'), [this.dim], null, this.eps);
      return normalised.mul(this.param('weight').to('float32').add(1)).to(x.dtype);
    });
  }
}

/** The norm a decoder family uses, over the last `dim` features. */
export function decoderNorm(style: 'llama' | 'gemma', dim: number, eps: number): TensorModule {
  return style === 'gemma' ? new GemmaRMSNorm(dim, eps) : new RMSNorm(dim, { eps });
}
