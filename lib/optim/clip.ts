// clipGradNorm, as torch.nn.utils.clip_grad_norm_: one native call over every gradient.
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import { Parameter } from '../nn/parameter.js';

/**
 * Scales all gradients together so that their total norm is at most maxNorm; returns the total norm before
 * clipping. Parameters without a gradient are ignored. Accepts parameters or [name, parameter] pairs.
 */
export function clipGradNorm(params: Iterable<Parameter | readonly [string, Parameter]>, maxNorm: number, normType = 2): number {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new TorchError(`clipGradNorm: maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new TorchError(`clipGradNorm: normType must be a positive number or Infinity, got ${String(normType)}`);
  const handles = [...params].map((item, i) => {
    const p = Array.isArray(item) ? item[1] : item;
    if (!(p instanceof Parameter)) throw new TorchError(`clipGradNorm: params[${i}] is not a Parameter`);
    return p.handle;
  });
  return N.clipGradNorm(handles, maxNorm, normType) as number;
}
