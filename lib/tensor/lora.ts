// Typed wrappers over the native LoRA entry points (native/lora.cc, native/lora_grouped.cc); lib/peft calls these.
// Importing this module also loads our CUDA LoRA kernels when they apply (lora-cuda.ts).
import { N, type Handle } from '../binding.js';
import { TorchError } from '../errors.js';
import { ensureGemmChosen } from './gemm.js';
import './lora-cuda.js';
import { type Tensor, wrap } from './tensor.js';

/** One adapter's low-rank pair as a layer sees it: A [r, in], B [out, r]. */
export interface LowRankTerm {
  A: Tensor;
  B: Tensor;
  scale: number;
  dropout?: number;
}

function checkTerms(terms: readonly LowRankTerm[], where: string): void {
  terms.forEach((t, i) => {
    if (typeof t.scale !== 'number' || !Number.isFinite(t.scale)) {
      throw new TorchError(`${where}: terms[${i}].scale must be a finite number, got ${String(t.scale)}`);
    }
  });
}

/**
 * linear(x, W, bias) + Σ scale·B(A(dropout(x))) in one native call, each low-rank product added into the base output
 * in place (one adapter without dropout under autograd: a custom backward that also accumulates dx in place).
 * fanInFanOut: W is stored [in, out] (GPT-2 Conv1D). Each term is computed in A's dtype, added in the output's dtype.
 */
export function loraLinear(x: Tensor, weight: Tensor, bias: Tensor | null, terms: readonly LowRankTerm[], training: boolean,
  fanInFanOut = false): Tensor {
  checkTerms(terms, 'loraLinear');
  ensureGemmChosen();
  return wrap(N.loraLinear(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), terms.map((t) => t.dropout ?? 0), training, fanInFanOut));
}

/**
 * A mixed-adapter batch: linear(x, W, bias) for every row, plus terms[rowAdapter[row]] on each batch row
 * (rowAdapter[row] = -1: the base model only). One low-rank product per adapter group; no dropout.
 */
export function loraLinearGrouped(x: Tensor, weight: Tensor, bias: Tensor | null, terms: readonly LowRankTerm[],
  rowAdapter: readonly number[], fanInFanOut = false): Tensor {
  checkTerms(terms, 'loraLinearGrouped');
  ensureGemmChosen();
  if (x.ndim < 2 || rowAdapter.length !== x.shape[0]) {
    throw new TorchError(`loraLinearGrouped: rowAdapter must have one entry per batch row (${x.shape[0]}), got ${rowAdapter.length}`);
  }
  rowAdapter.forEach((a, row) => {
    if (!Number.isInteger(a) || a < -1 || a >= terms.length) {
      throw new TorchError(`loraLinearGrouped: rowAdapter[${row}] must be -1 or an index below ${terms.length}, got ${a}`);
    }
  });
  return wrap(N.loraLinearGrouped(x.handle, weight.handle, bias?.handle ?? null, terms.map((t) => t.A.handle),
    terms.map((t) => t.B.handle), terms.map((t) => t.scale), [...rowAdapter], fanInFanOut));
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
