// Truncated normal sampling, drawing the same random numbers in the same order as torch 2.13's
// torch.nn.init.trunc_normal_: rejection from N(mean, std) when [a, b] holds more than 30% of the mass,
// else rejection from U(a, b) against the normal density.
import { TorchError } from '../errors.js';
import { noGrad } from './autograd.js';
import { emptyLike, tensor } from './creation.js';
import './ops-math.js';
import { where } from './ops-shape.js';
import { scope } from './scope.js';
import { Tensor } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    /** Fills in place with N(mean, std) draws truncated to [a, b], as torch.nn.init.trunc_normal_. */
    truncNormal_(mean?: number, std?: number, a?: number, b?: number): this;
  }
}

/** The error function, within about 1e-15: erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (2n+1)!! (all terms positive). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (Number.isNaN(x)) return Number.NaN;
  if (ax >= 6) return Math.sign(x); // 1 − erf(6) < 2.2e-17
  let term = ax;
  let sum = ax;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

const normalCdf = (x: number): number => (1 + erf(x / Math.SQRT2)) / 2;

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TorchError(`truncNormal_: ${what} must be a finite number, got ${String(value)}`);
  return value;
}

/** Redraws from N(mean, std) every element outside [a, b] (bounds rounded to t's dtype) until none is left. */
function byNormalRejection(t: Tensor, mean: number, std: number, a: number, b: number): void {
  const [lo, hi] = [a, b].map((bound) => scope(() => tensor(bound, { dtype: t.dtype }).item()));
  scope(() => {
    let result = t.normal_(mean, std);
    for (;;) {
      const outside = scope(() => result.lt(lo).logicalOr(result.gt(hi)));
      if (!scope(() => outside.any().itemBool())) break;
      const next = scope(() => where(outside, emptyLike(result).normal_(mean, std), result));
      for (const used of result === t ? [outside] : [outside, result]) used.dispose();
      result = next;
    }
    if (result !== t) t.copy_(result);
  });
}

/** Draws from U(a, b) and keeps a draw x with probability exp(logPdf(x) − logPdf(mode)), redrawing the rest. */
function byUniformRejection(t: Tensor, mean: number, std: number, a: number, b: number): void {
  const mode = Math.max(a, Math.min(mean, b));
  const logPeak = -0.5 * ((mode - mean) / std) ** 2;
  scope(() => {
    const candidates = emptyLike(t);
    const accept = emptyLike(t);
    // log u > log pdf(x) − log pdf(mode), u ~ U(0, 1): x is rejected
    const rejected = (x: Tensor): Tensor => scope(() => accept.uniform_().log().gt(x.sub(mean).div(std).pow(2).mul(-0.5).sub(logPeak)));
    t.uniform_(a, b);
    let pending = rejected(t);
    let result = t;
    while (scope(() => pending.any().itemBool())) {
      candidates.uniform_(a, b);
      const next = where(pending, candidates, result);
      if (result !== t) result.dispose();
      result = next;
      const nextPending = scope(() => where(pending, rejected(candidates), pending));
      pending.dispose();
      pending = nextPending;
    }
    if (result !== t) t.copy_(result);
  });
}

/**
 * Fills t in place with draws from N(mean, std) truncated to [a, b], without recording autograd, drawing as
 * torch.nn.init.trunc_normal_ does (so a seeded draw equals PyTorch's). Returns t.
 * @throws TorchError when an argument is not a finite number, std ≤ 0 or a ≥ b.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  if (!(t instanceof Tensor)) throw new TorchError(`truncNormal_: t must be a Tensor, got ${typeof t}`);
  [mean, std, a, b] = [finite(mean, 'mean'), finite(std, 'std'), finite(a, 'a'), finite(b, 'b')];
  if (std <= 0) throw new TorchError(`truncNormal_: std must be > 0, got ${std}`);
  if (a >= b) throw new TorchError(`truncNormal_: the bounds must satisfy a < b, got a=${a}, b=${b}`);
  const mass = normalCdf((b - mean) / std) - normalCdf((a - mean) / std);
  noGrad(() => (mass > 0.3 ? byNormalRejection(t, mean, std, a, b) : byUniformRejection(t, mean, std, a, b)));
  return t;
}

Tensor.prototype.truncNormal_ = function (mean = 0, std = 1, a = -2, b = 2) {
  truncNormal_(this, mean, std, a, b);
  return this;
};
