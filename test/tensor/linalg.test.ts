// torch.linalg's QR and SVD, and svdLowrank (torch.svd_lowrank reproduced from torch/_lowrank.py): the
// factorisations hold, an exactly low-rank matrix is recovered, and the seeded draws match Python's (the PiSSA
// golden case in test/peft/pissa-niter.test.ts compares the factors with PEFT's bit for bit).
import { describe, expect, it } from 'vitest';
import { torch } from '../../lib/index.js';

const maxAbs = (t: torch.Tensor): number => t.abs().max().item();

describe('linalg', () => {
  it('qr: Q has orthonormal columns, R is upper triangular, Q·R = A (reduced)', () => {
    const a = torch.randn([6, 4]);
    const [Q, R] = torch.linalg.qr(a);
    expect([Q.shape, R.shape]).toEqual([[6, 4], [4, 4]]);
    expect(maxAbs(Q.mT().matmul(Q).sub(torch.eye(4)))).toBeLessThan(1e-5);
    expect(maxAbs(R.sub(R.triu()))).toBe(0);
    expect(maxAbs(Q.matmul(R).sub(a))).toBeLessThan(1e-5);
  });

  it('svd: U·diag(S)·Vh = A, singular values descending', () => {
    const a = torch.randn([5, 3]);
    const [U, S, Vh] = torch.linalg.svd(a, { fullMatrices: false });
    expect(maxAbs(U.mul(S.view(1, -1)).matmul(Vh).sub(a))).toBeLessThan(1e-5);
    const s = Array.from(S.toArray() as Float32Array);
    expect([...s].sort((x, y) => y - x)).toEqual(s);
  });

  for (const [m, n] of [[12, 8], [8, 12]]) {
    it(`svdLowrank recovers an exactly rank-3 [${m}, ${n}] matrix; the same seed gives the same factors`, () => {
      const a = torch.randn([m, 3]).matmul(torch.randn([3, n]));
      torch.manualSeed(11);
      const [U, S, V] = torch.svdLowrank(a, 3, 2);
      expect([U.shape, S.shape, V.shape]).toEqual([[m, 3], [3], [n, 3]]);
      expect(maxAbs(U.mul(S.view(1, -1)).matmul(V.mT()).sub(a))).toBeLessThan(1e-4);
      torch.manualSeed(11);
      expect(maxAbs(torch.svdLowrank(a, 3, 2)[0].sub(U))).toBe(0);
    });
  }

  it('svdLowrank names bad arguments', () => {
    expect(() => torch.svdLowrank(torch.randn([4, 4]), 5)).toThrow(/q must be in \[1, 4\]/);
    expect(() => torch.svdLowrank(torch.randn([4, 4]), 2, -1)).toThrow(/niter must be a non-negative integer/);
    expect(() => torch.svdLowrank(torch.randn([2, 4, 4]), 2)).toThrow(/A must be 2-D/);
  });
});
