// PEFT's merge_utils (task arithmetic, TIES, DARE, magnitude pruning) on stacked task tensors, with PEFT's draws:
// DARE's random pruning is torch.bernoulli(full_like(t, density)), which on CPU draws one uniform per element from
// the global generator and keeps it when below density: exactly rand_like(t) < density. A run seeded like PEFT's
// (torch.manualSeed before addWeightedAdapter) draws the same masks (the golden cases check it).
import { PeftError } from '../errors.js';
import { randLike, tensor, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { stack, where } from '../tensor/ops-shape.js';
import type { Tensor } from '../tensor/tensor.js';

export type MajoritySignMethod = 'total' | 'frequency';

/** Keeps the int(density·numel) largest magnitudes (PEFT's magnitude_based_pruning). */
function magnitudePrune(t: Tensor, density: number): Tensor {
  const k = Math.floor(density * t.numel());
  let mask = zeros([t.numel()], { dtype: t.dtype, device: t.device });
  if (k > 0) {
    const [, indices] = t.abs().reshape(-1).topk(k, 0);
    mask = mask.scatter(0, indices, 1);
  }
  return t.mul(mask.reshape(...t.shape));
}

/** DARE's random pruning: each value kept with probability density, then rescaled by 1/density. */
function randomPrune(t: Tensor, density: number): Tensor {
  const mask = randLike(t).lt(density).to(t.dtype);
  return t.mul(mask).div(density);
}

/** PEFT's prune(): density >= 1 keeps everything (with PEFT's warning), density < 0 is an error. */
function prune(t: Tensor, density: number, method: 'magnitude' | 'random', warn: (m: string) => void): Tensor {
  if (density >= 1) {
    warn(`The density ${density} is greater than or equal to 1, no pruning will be performed.`);
    return t;
  }
  if (!(density >= 0)) throw new PeftError(`Density should be >= 0, got ${density}`);
  return method === 'magnitude' ? magnitudePrune(t, density) : randomPrune(t, density);
}

/** weights [n] shaped to broadcast over stacked tensors [n, ...]. */
function weighted(stacked: Tensor, weights: readonly number[]): Tensor {
  const w = tensor([...weights], { dtype: 'float32', device: stacked.device, shape: [weights.length, ...new Array<number>(stacked.ndim - 1).fill(1)] });
  return stacked.mul(w);
}

function majoritySignMask(stacked: Tensor, method: MajoritySignMethod): Tensor {
  const sign = stacked.sign();
  const magnitude = method === 'total' ? stacked.sum(0) : sign.sum(0);
  const majority = where(magnitude.ge(0), 1, -1);
  return sign.eq(majority);
}

function disjointMerge(stacked: Tensor, mask: Tensor): Tensor {
  const kept = mask.to(stacked.dtype);
  return stacked.mul(kept).sum(0).div(kept.sum(0).clamp(1));
}

export type TaskCombination = 'linear' | 'ties' | 'dare_linear' | 'dare_ties' | 'magnitude_prune';

export interface TaskCombinationOptions {
  density?: number | null;
  majoritySignMethod?: MajoritySignMethod;
  warn?: (message: string) => void;
}

/** Combines task tensors (all of one shape) with weights as PEFT's merge_utils does for each combination. */
export function combineTaskTensors(kind: TaskCombination, tensors: readonly Tensor[], weights: readonly number[], options: TaskCombinationOptions = {}): Tensor {
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'PeftWarning'));
  const method = options.majoritySignMethod ?? 'total';
  if (method !== 'total' && method !== 'frequency') throw new PeftError(`majority_sign_method: expected 'total' or 'frequency', got ${JSON.stringify(method)}`);
  const density = options.density;
  if (kind !== 'linear' && (density === undefined || density === null)) throw new PeftError(`add_weighted_adapter('${kind}'): density is required`);
  return scope(() => {
    const pruned = kind === 'linear' ? [...tensors]
      : tensors.map((t) => prune(t, density as number, kind === 'ties' || kind === 'magnitude_prune' ? 'magnitude' : 'random', warn));
    const stacked = stack(pruned as Tensor[], 0);
    const mask = kind === 'ties' || kind === 'dare_ties' ? majoritySignMask(stacked, method) : null;
    const scaled = weighted(stacked, weights);
    return mask ? disjointMerge(scaled, mask) : scaled.sum(0);
  });
}
