// Typed wrappers over the native LoRA entry points (native/lora.cc); lib/peft calls these.
import { N, type Handle } from '../binding.js';
import { Tensor, wrap } from './tensor.js';

/** One adapter's low-rank pair as a layer sees it: A [r, in], B [out, r]. */
export interface LowRankTerm {
  A: Tensor;
  B: Tensor;
  scale: number;
  dropout?: number;
}

/**
 * linear(x, W, bias) + Σ scale·B(A(dropout(x))) in one native call. fanInFanOut: W is stored [in, out]
 * (GPT-2 Conv1D). Each term is computed in A's dtype and added in the base output's dtype.
 */
export function loraLinear(x: Tensor, weight: Tensor, bias: Tensor | null, terms: LowRankTerm[], training: boolean,
  fanInFanOut = false): Tensor {
  return wrap(N.loraLinear(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), terms.map((t) => t.dropout ?? 0), training, fanInFanOut));
}

/** The base output for the whole batch plus term i on the batch rows rows[i] (int64 indices); no dropout. */
export function loraLinearMixed(x: Tensor, weight: Tensor, bias: Tensor | null, terms: LowRankTerm[], rows: Tensor[],
  fanInFanOut = false): Tensor {
  return wrap(N.loraLinearMixed(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), rows.map((r) => r.handle), fanInFanOut));
}

/** ‖W + scale·B@A‖ per output row (W in [out, in] layout unless fanInFanOut), without gradient. */
export function doraWeightNorm(weight: Tensor, A: Tensor, B: Tensor, scale: number, fanInFanOut = false): Tensor {
  return wrap(N.doraWeightNorm(weight.handle, A.handle, B.handle, scale, fanInFanOut));
}

/** y plus the DoRA term of one adapter with magnitude m (PEFT's DoraLinearLayer semantics). */
export function doraLinear(x: Tensor, y: Tensor, weight: Tensor, bias: Tensor | null, term: LowRankTerm, magnitude: Tensor,
  training: boolean, fanInFanOut = false): Tensor {
  return wrap(N.doraLinear(x.handle, y.handle, weight.handle, bias?.handle ?? null, term.A.handle, term.B.handle, term.scale,
    magnitude.handle, term.dropout ?? 0, training, fanInFanOut));
}

/** scale·B@A ([out, in]), transposed to [in, out] when transpose is set. */
export function loraDelta(A: Tensor, B: Tensor, scale: number, transpose = false): Tensor {
  return wrap(N.loraDelta(A.handle, B.handle, scale, transpose));
}

/** Truncated SVD of a delta [out, in]: [B = U·diag(S) (out, rank), A = Vh (rank, in)]; clamp: quantile to clip at. */
export function loraSvd(delta: Tensor, rank: number, options: { fullMatrices?: boolean; clamp?: number | null } = {}): [Tensor, Tensor] {
  const [B, A] = (N.loraSvd(delta.handle, rank, options.fullMatrices ?? true, options.clamp ?? null) as Handle[]).map((h) => wrap(h));
  return [B, A];
}
