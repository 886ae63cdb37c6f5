// transformers' Conv1D (GPT-2): a linear layer whose weight is stored transposed, [in, out].
import { checkPositiveInt } from '../nn/check.js';
import { Module } from '../nn/module.js';
import { emptyParameter, type FactoryOptions, type Parameter } from '../nn/parameter.js';
import { addmm } from '../tensor/ops-math.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { normal_, zeros_ } from '../nn/init.js';

/** y = x W + b with weight [nx, nf] (in, out) and bias [nf]; the weight is initialised N(0, 0.02). */
export class Conv1D extends Module {
  readonly nf: number;
  readonly nx: number;

  /** nf: output features; nx: input features (transformers' argument order). */
  constructor(nf: number, nx: number, options: FactoryOptions = {}) {
    super();
    this.nf = checkPositiveInt('Conv1D', 'nf', nf);
    this.nx = checkPositiveInt('Conv1D', 'nx', nx);
    this.registerParameter('weight', normal_(emptyParameter([nx, nf], options), 0, 0.02) as Parameter);
    this.registerParameter('bias', zeros_(emptyParameter([nf], options)) as Parameter);
  }

  get weight(): Parameter {
    return this.param('weight');
  }

  get bias(): Parameter {
    return this.param('bias');
  }

  forward(x: Tensor): Tensor {
    // (..., nx) -> (..., nf)
    return scope(() => {
      const flat = x.reshape(-1, this.nx);
      return addmm(this.param('bias'), flat, this.param('weight')).view(...x.shape.slice(0, -1), this.nf);
    });
  }
}
