// SGD with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD; one fused native update per group.
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import type { Parameter } from '../nn/parameter.js';
import type { Tensor } from '../tensor/tensor.js';
import { type BaseOptions, Optimizer, type ParamsInput } from './optimizer.js';

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  /** Defaults as PyTorch: lr 1e-3, momentum 0, dampening 0, weightDecay 0, nesterov false. */
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected override validate(options: SGDOptions, where: string): void {
    super.validate(options, where);
    if (typeof options.momentum !== 'number' || !(options.momentum >= 0)) {
      throw new TorchError(`${where}: invalid momentum=${options.momentum} (expected a number >= 0)`);
    }
    if (typeof options.dampening !== 'number') throw new TorchError(`${where}: invalid dampening=${options.dampening} (expected a number)`);
    if (options.nesterov && (options.momentum <= 0 || options.dampening !== 0)) {
      throw new TorchError(`${where}: nesterov momentum requires a momentum > 0 and zero dampening (got momentum=${options.momentum}, dampening=${options.dampening})`);
    }
  }

  protected initState(p: Parameter): Record<string, Tensor> {
    return { momentum_buffer: Optimizer.zerosLike(p) };
  }

  step(): void {
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov } = group;
      if (momentum === 0) {
        N.sgdStep(group.params.map((p) => p.handle), [], lr, 0, dampening, weightDecay, nesterov, false);
        continue;
      }
      // A parameter's first step takes the gradient itself as its momentum buffer; later steps blend it in.
      const fresh = new Set(this.ensureState(group));
      const ongoing = group.params.filter((p) => this.state.has(p) && !fresh.has(p));
      for (const [params, firstStep] of [[[...fresh], true], [ongoing, false]] as const) {
        if (params.length === 0) continue;
        const buffers = params.map((p) => (this.state.get(p) as Record<string, Tensor>).momentum_buffer.handle);
        N.sgdStep(params.map((p) => p.handle), buffers, lr, momentum, dampening, weightDecay, nesterov, firstStep);
      }
    }
  }
}
