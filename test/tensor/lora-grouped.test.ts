// The LoRA entry points (loraLinear, loraLinearGrouped) agree with the plain composition linear(x) + s·(x Aᵀ) Bᵀ,
// values and gradients.
import { describe, expect, test } from 'vitest';
import { torch, TorchError, type Tensor } from '../../lib/index.js';
import { loraLinear, loraLinearGrouped } from '../../lib/tensor/lora.js';

const values = (t: Tensor): number[] => Array.from(t.toArray(), Number);

function expectClose(actual: Tensor, expected: Tensor, tol = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = values(actual);
  const e = values(expected);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - e[i])));
  expect(worst).toBeLessThan(tol);
}

/** x [..., in] through W [out, in] + bias + s·B(A(x)), composed from plain ops. */
function composed(x: Tensor, W: Tensor, bias: Tensor | null, A: Tensor, B: Tensor, scale: number): Tensor {
  const base = torch.F.linear(x, W, bias);
  return base.add(x.matmul(A.mT()).matmul(B.mT()).mul(scale));
}

describe('loraLinear', () => {
  test('inference: equals the composition for 3-D input, with and without bias, and for two adapters', () => {
    torch.scope(() => {
      torch.manualSeed(0);
      const x = torch.randn([2, 5, 8]);
      const W = torch.randn([6, 8]);
      const bias = torch.randn([6]);
      const [A1, B1, A2, B2] = [torch.randn([3, 8]), torch.randn([6, 3]), torch.randn([2, 8]), torch.randn([6, 2])];
      torch.noGrad(() => {
        expectClose(loraLinear(x, W, bias, [{ A: A1, B: B1, scale: 2 }], false), composed(x, W, bias, A1, B1, 2));
        expectClose(loraLinear(x, W, null, [{ A: A1, B: B1, scale: 0.5 }], false), composed(x, W, null, A1, B1, 0.5));
        const two = composed(x, W, bias, A1, B1, 2).add(x.matmul(A2.mT()).matmul(B2.mT()).mul(3));
        expectClose(loraLinear(x, W, bias, [{ A: A1, B: B1, scale: 2 }, { A: A2, B: B2, scale: 3 }], false), two);
      });
    });
  });

  test('training: gradients of x, A and B match autograd through the composition; the frozen weight gets none', () => {
    torch.scope(() => {
      torch.manualSeed(1);
      const make = (): Tensor[] => [torch.randn([4, 8]), torch.randn([3, 8]), torch.randn([6, 3]), torch.randn([4, 6])];
      const [x0, A0, B0, g] = make();
      const W = torch.randn([6, 8]);
      const run = (fused: boolean): Tensor[] => {
        const [x, A, B] = [x0.clone().requiresGrad_(), A0.clone().requiresGrad_(), B0.clone().requiresGrad_()];
        const y = fused ? loraLinear(x, W, null, [{ A, B, scale: 2 }], true) : composed(x, W, null, A, B, 2);
        y.backward(g);
        return [y, x.grad as Tensor, A.grad as Tensor, B.grad as Tensor];
      };
      const fused = run(true);
      const plain = run(false);
      fused.forEach((t, i) => expectClose(t, plain[i]));
      expect(W.grad).toBeNull();
    });
  });

  test('the fan_in_fan_out layout (weight stored [in, out]) gives the same result', () => {
    torch.scope(() => {
      torch.manualSeed(2);
      const x = torch.randn([3, 8]);
      const W = torch.randn([6, 8]);
      const [A, B] = [torch.randn([2, 8]), torch.randn([6, 2])];
      torch.noGrad(() => {
        const stored = W.mT().contiguous();
        expectClose(loraLinear(x, stored, null, [{ A, B, scale: 1 }], false, true), composed(x, W, null, A, B, 1));
      });
    });
  });

  test('training with dropout: each adapter sees its own dropped-out input; gradients match the composition', () => {
    torch.scope(() => {
      torch.manualSeed(4);
      const [x0, W, A0, B0, g] = [torch.randn([6, 8]), torch.randn([5, 8]), torch.randn([3, 8]), torch.randn([5, 3]), torch.randn([6, 5])];
      const run = (native: boolean): Tensor[] => {
        const [x, A, B] = [x0.clone().requiresGrad_(), A0.clone().requiresGrad_(), B0.clone().requiresGrad_()];
        torch.manualSeed(11);
        const y = native
          ? loraLinear(x, W, null, [{ A, B, scale: 2, dropout: 0.5 }], true)
          : torch.F.linear(x, W, null).add(torch.F.dropout(x, 0.5, true).matmul(A.mT()).matmul(B.mT()).mul(2));
        y.backward(g);
        return [y, x.grad as Tensor, A.grad as Tensor, B.grad as Tensor];
      };
      const native = run(true);
      run(false).forEach((t, i) => expectClose(native[i], t));
      const noDropout = torch.noGrad(() => composed(x0, W, null, A0, B0, 2));
      expect(native[0].sub(noDropout).abs().max().item()).toBeGreaterThan(1e-3);
    });
  });

  test('a non-finite scale is refused, naming the term', () => {
    torch.scope(() => {
      const x = torch.zeros([1, 2]);
      expect(() => loraLinear(x, torch.zeros([2, 2]), null, [{ A: torch.zeros([1, 2]), B: torch.zeros([2, 1]), scale: NaN }], false))
        .toThrow(/terms\[0\]\.scale/);
    });
  });
});

describe('loraLinearGrouped', () => {
  test('each row gets its own adapter: consecutive groups, scattered groups and base rows', () => {
    torch.scope(() => {
      torch.manualSeed(3);
      const x = torch.randn([5, 4, 8]);
      const W = torch.randn([6, 8]);
      const bias = torch.randn([6]);
      const terms = [0, 1].map((i) => ({ A: torch.randn([3, 8]), B: torch.randn([6, 3]), scale: i + 1 }));
      // scattered groups; consecutive groups (computed on views) next to base rows
      for (const rowAdapter of [[1, 0, 1, -1, 0], [1, 1, 0, -1, -1]]) {
        torch.noGrad(() => {
          const y = loraLinearGrouped(x, W, bias, terms, rowAdapter);
          rowAdapter.forEach((a, row) => {
            const xr = x.slice(0, row, row + 1);
            const expected = a < 0 ? torch.F.linear(xr, W, bias) : composed(xr, W, bias, terms[a].A, terms[a].B, terms[a].scale);
            expectClose(y.slice(0, row, row + 1), expected);
          });
        });
      }
    });
  });

  test('one-token rows (a decode step: one pass) and longer ones (GEMMs per group) agree with the composition', () => {
    torch.scope(() => {
      torch.manualSeed(4);
      // in = 21 (not a multiple of the kernel's 8 lanes), adapters of different ranks, a transposed (strided) input
      const W = torch.randn([7, 21]);
      const terms = [4, 2, 5].map((r, i) => ({ A: torch.randn([r, 21]), B: torch.randn([7, r]), scale: 0.5 + i }));
      for (const [rows, length] of [[6, 1], [12, 1], [3, 2], [8, 16]]) {
        const x = torch.randn([rows, 21, length]).transpose(1, 2);
        const rowAdapter = Array.from({ length: rows }, (_, row) => (row % 4) - 1);
        torch.noGrad(() => {
          const y = loraLinearGrouped(x, W, null, terms, rowAdapter);
          rowAdapter.forEach((a, row) => {
            const xr = x.slice(0, row, row + 1);
            const expected = a < 0 ? torch.F.linear(xr, W) : composed(xr, W, null, terms[a].A, terms[a].B, terms[a].scale);
            expectClose(y.slice(0, row, row + 1), expected);
          });
        });
      }
    });
  });

  test('rowAdapter must have one valid entry per batch row', () => {
    torch.scope(() => {
      const x = torch.zeros([2, 3, 4]);
      const term = { A: torch.zeros([1, 4]), B: torch.zeros([2, 1]), scale: 1 };
      expect(() => loraLinearGrouped(x, torch.zeros([2, 4]), null, [term], [0])).toThrow(TorchError);
      expect(() => loraLinearGrouped(x, torch.zeros([2, 4]), null, [term], [0, 1])).toThrow(/rowAdapter\[1\]/);
    });
  });
});
