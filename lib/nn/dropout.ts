// Dropout, as torch.nn.Dropout: active only in training mode.
import { dropout } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkProbability } from './check.js';
import { Module } from './module.js';

export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkProbability('Dropout', 'p', p);
  }

  /** In eval mode (or p = 0) returns the input itself, as PyTorch does. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, true);
  }
}
