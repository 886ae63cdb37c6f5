// init_lora_weights that read the base weight (PiSSA, OLoRA) or draw an orthogonal pair, as PEFT 0.21's LoRA Linear
// does after nn.Linear's default init of lora_A / lora_B. PiSSA and OLoRA also return the residual base weight
// W − scaling·B·A, which replaces the base weight (the adapter starts as the identity on the original model).
// QR is Gram-Schmidt here: Q's columns may differ in sign from LAPACK's Householder Q, which flips rows of A and the
// matching columns of B together, so B·A, the residual and the outputs are PEFT's.
import { PeftError } from '../../errors.js';
import { randn, tensor } from '../../tensor/creation.js';
import { svdLowrank } from '../../tensor/linalg.js';
import { loraSvd } from '../../tensor/lora.js';
import { cat } from '../../tensor/ops-shape.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';

export const WEIGHT_INITS = ['pissa', 'olora', 'orthogonal'] as const;
export type WeightInit = (typeof WEIGHT_INITS)[number] | `pissa_niter_${number}`;
/** init_lora_weights "pissa_niter_<N>": PiSSA through torch.svd_lowrank with N subspace iterations. */
export const PISSA_NITER = /^pissa_niter_(\d+)$/;

export function isWeightInit(init: unknown): init is WeightInit {
  return (WEIGHT_INITS as readonly unknown[]).includes(init) || (typeof init === 'string' && PISSA_NITER.test(init));
}

/** Inits that change the base weight (so a saved adapter of that kind needs them again when loaded, as PEFT does). */
export function changesBaseWeight(init: unknown): boolean {
  return init === 'pissa' || init === 'olora' || (typeof init === 'string' && PISSA_NITER.test(init));
}

export interface FactorInit {
  A: Tensor;
  B: Tensor;
  /** The new base weight (null: the base is unchanged). */
  residual: Tensor | null;
}

/** PiSSA: W = U S Vh; A = diag(√(S_r/scaling))·Vh_r, B = U_r·diag(√(S_r/scaling)); residual W − scaling·B·A. */
export function pissaInit(weight: Tensor, r: number, scaling: number): FactorInit {
  return scope(() => {
    const [US, Vh] = loraSvd(weight.float(), r, { fullMatrices: false });
    const S = US.norm(2, 0);
    const root = S.div(scaling).sqrt();
    const A = Vh.mul(root.view(-1, 1));
    const B = US.div(S.view(1, -1)).mul(root.view(1, -1));
    return { A, B, residual: weight.float().sub(B.mm(A).mul(scaling)) };
  });
}

/**
 * PiSSA with torch.svd_lowrank(W, r, niter) (init_lora_weights "pissa_niter_<niter>"): W ≈ V·diag(S)·Uᵀ;
 * A = diag(√(S/scaling))·Uᵀ, B = V·diag(√(S/scaling)); residual W − scaling·B·A. Draws from the global generator.
 */
export function pissaLowrankInit(weight: Tensor, r: number, scaling: number, niter: number): FactorInit {
  return scope(() => {
    const w = weight.float();
    const [V, S, U] = svdLowrank(w, r, niter);
    const root = S.div(scaling).sqrt();
    const A = U.mT().mul(root.view(-1, 1)).contiguous();
    const B = V.mul(root.view(1, -1)).contiguous();
    return { A, B, residual: w.sub(B.mm(A).mul(scaling)) };
  });
}

/** The first r columns of W's QR (Gram-Schmidt) and the matching rows of R. */
function leadingQr(weight: Tensor, r: number): [Tensor, Tensor] {
  return scope(() => {
    const columns: Tensor[] = [];
    for (let j = 0; j < r; j++) {
      let v = weight.narrow(1, j, 1);
      for (const q of columns) v = v.sub(q.mul(q.mT().mm(v)));
      columns.push(v.div(v.norm(2)));
    }
    const Q = cat(columns, 1);
    return [Q, Q.mT().mm(weight).triu()];
  });
}

/** OLoRA: W = Q R; A = R_r, B = Q_r; residual W − scaling·B·A. */
export function oloraInit(weight: Tensor, r: number, scaling: number): FactorInit {
  if (r > Math.min(...weight.shape)) throw new PeftError(`init_lora_weights "olora": r=${r} exceeds the weight's smaller dimension ${Math.min(...weight.shape)}`);
  return scope(() => {
    const w = weight.float();
    const [B, A] = leadingQr(w, r);
    return { A: A.contiguous(), B: B.contiguous(), residual: w.sub(B.mm(A).mul(scaling)) };
  });
}

/** PEFT's orthogonal init: Q from QR(randn(r, r)); A = (randn(in, r/2)·Q_odd)ᵀ/10, B = randn(r/2, out)ᵀ·Q_even/10. */
export function orthogonalInit(inFeatures: number, outFeatures: number, r: number): FactorInit {
  if (r % 2 !== 0) throw new PeftError(`Orthogonal initialization requires the LoRA rank to be even, got ${r} instead.`);
  return scope(() => {
    const [Q] = leadingQr(randn([r, r]), r);
    const odd = Q.indexSelect(0, evenOdd(r, 0));
    const even = Q.indexSelect(0, evenOdd(r, 1));
    const A = randn([inFeatures, r / 2]).mm(odd).mT().div(10).contiguous();
    const B = randn([r / 2, outFeatures]).mT().mm(even).div(10).contiguous();
    return { A, B, residual: null };
  });
}

/** Row indices start, start + 2, ... below r (Python's [start::2]). */
function evenOdd(r: number, start: number): Tensor {
  const rows: number[] = [];
  for (let i = start; i < r; i += 2) rows.push(i);
  return tensor(rows, { dtype: 'int64' });
}
