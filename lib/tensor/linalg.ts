// torch.linalg's QR and SVD (LAPACK's, so the same signs as Python's), and torch.svd_lowrank, reproduced step by
// step from torch/_lowrank.py (Halko et al. 2009, algorithms 4.4 and 5.1) so that, from the same seed, it draws
// the same random matrix from the global generator and returns Python's factors.
import { N, type Handle } from '../binding.js';
import { TorchError } from '../errors.js';
import { intArg, tensorArg } from './check.js';
import { randn } from './creation.js';
import { scope } from './scope.js';
import { type Tensor, wrap } from './tensor.js';

/** torch.linalg.qr(A) (mode 'reduced'): [Q, R]. */
export function qr(a: Tensor): [Tensor, Tensor] {
  const [Q, R] = (N.linalgQr(tensorArg(a, 'qr: A')) as Handle[]).map((h) => wrap(h));
  return [Q, R];
}

/** torch.linalg.svd(A, full_matrices): [U, S, Vh]. */
export function svd(a: Tensor, options: { fullMatrices?: boolean } = {}): [Tensor, Tensor, Tensor] {
  const [U, S, Vh] = (N.linalgSvd(tensorArg(a, 'svd: A'), options.fullMatrices ?? true) as Handle[]).map((h) => wrap(h));
  return [U, S, Vh];
}

/** Q with q orthonormal columns such that Q·Qᴴ·A approximates A (get_approximate_basis, without M). */
function approximateBasis(a: Tensor, q: number, niter: number): Tensor {
  const R = randn([a.shape[a.ndim - 1], q], { dtype: a.dtype, device: a.device });
  let [Q] = qr(a.matmul(R));
  const aT = a.mT();
  for (let i = 0; i < niter; i++) {
    [Q] = qr(aT.matmul(Q));
    [Q] = qr(a.matmul(Q));
  }
  return Q;
}

/**
 * torch.svd_lowrank(A, q, niter) for a real 2-D matrix: [U (m, q), S (q), V (n, q)] with A ≈ U·diag(S)·Vᵀ. Draws one
 * randn(n', q) from the global generator (n' = the larger side), as Python does.
 */
export function svdLowrank(a: Tensor, q = 6, niter = 2): [Tensor, Tensor, Tensor] {
  if (a.ndim !== 2) throw new TorchError(`svdLowrank: A must be 2-D, got shape [${a.shape.join(', ')}]`);
  intArg(q, 'svdLowrank: q');
  intArg(niter, 'svdLowrank: niter');
  if (q < 1 || q > Math.min(...a.shape)) throw new TorchError(`svdLowrank: q must be in [1, ${Math.min(...a.shape)}] for shape [${a.shape.join(', ')}], got ${q}`);
  if (niter < 0) throw new TorchError(`svdLowrank: niter must be a non-negative integer, got ${niter}`);
  return scope(() => {
    const [m, n] = a.shape;
    const matrix = m < n ? a.mT() : a;
    const Q = approximateBasis(matrix, q, niter);
    const [Ub, S, Vh] = svd(Q.mT().matmul(matrix), { fullMatrices: false });
    const U = Q.matmul(Ub);
    const V = Vh.mT();
    return m < n ? [V, S, U] : [U, S, V];
  });
}
