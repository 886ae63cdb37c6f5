// Activation modules, as torch.nn.ReLU / GELU / SiLU / Tanh / Sigmoid.
import { TorchError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export type GELUApproximation = 'none' | 'tanh';

export class GELU extends Module {
  readonly approximate: GELUApproximation;

  constructor(approximate: GELUApproximation = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new TorchError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
    }
    this.approximate = approximate;
  }

  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
