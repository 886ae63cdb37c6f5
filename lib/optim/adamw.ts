// AdamW (decoupled weight decay), as torch.optim.AdamW; the update runs in LibTorch's fused kernel.
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import type { Parameter } from '../nn/parameter.js';
import type { Tensor } from '../tensor/tensor.js';
import { type BaseOptions, Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamWOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
}

/**
 * @example
 * const optimizer = new AdamW(model.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 2e-4 });
 * loss.backward(); optimizer.step(); optimizer.zeroGrad();
 */
export class AdamW extends Optimizer<AdamWOptions> {
  /** Defaults as PyTorch: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2, amsgrad false. */
  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...options });
  }

  protected override validate(options: AdamWOptions, where: string): void {
    super.validate(options, where);
    const { betas, eps } = options;
    if (!Array.isArray(betas) || betas.length !== 2 || betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) {
      throw new TorchError(`${where}: invalid betas ${JSON.stringify(betas)} (expected two numbers in [0, 1))`);
    }
    if (typeof eps !== 'number' || !(eps >= 0)) throw new TorchError(`${where}: invalid eps=${eps} (expected a number >= 0)`);
  }

  protected initState(p: Parameter): Record<string, Tensor> {
    const state: Record<string, Tensor> = {
      step: Optimizer.stepCounter(p),
      exp_avg: Optimizer.zerosLike(p),
      exp_avg_sq: Optimizer.zerosLike(p),
    };
    if (this.paramGroups.some((g) => g.amsgrad && g.params.includes(p))) state.max_exp_avg_sq = Optimizer.zerosLike(p);
    return state;
  }

  step(): void {
    for (const group of this.paramGroups) {
      this.ensureState(group);
      const params = group.params.filter((p) => this.state.has(p));
      if (params.length === 0) continue;
      const states = params.map((p) => this.state.get(p) as Record<string, Tensor>);
      if (group.amsgrad) {
        params.forEach((p, i) => (states[i].max_exp_avg_sq ??= Optimizer.zerosLike(p)));
      }
      const handles = (name: string) => states.map((s) => s[name].handle);
      N.adamwStep(params.map((p) => p.handle), handles('exp_avg'), handles('exp_avg_sq'), handles('step'), group.lr,
        group.betas[0], group.betas[1], group.weightDecay, group.eps, group.amsgrad, group.amsgrad ? handles('max_exp_avg_sq') : []);
    }
  }
}
