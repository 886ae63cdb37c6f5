// The fused rotary kernel against the composite x·cos + rotate_half(x)·sin it replaces, values and gradients.
import { describe, expect, it } from 'vitest';
import { applyRotary } from '../../lib/tensor/functional.js';
import { torch } from '../../lib/index.js';
import type { Tensor } from '../../lib/tensor/tensor.js';

function composite(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const half = x.shape[3] / 2;
  const rotated = torch.cat([x.slice(-1, half).neg(), x.slice(-1, 0, half)], -1);
  return x.mul(cos.unsqueeze(1)).add(rotated.mul(sin.unsqueeze(1)));
}

function maxDiff(a: Tensor, b: Tensor): number {
  return torch.scope(() => a.sub(b).abs().max().item() as number);
}

describe('applyRotary', () => {
  for (const tableBatch of [1, 3]) {
    it(`matches the composite form on a transposed (B, nh, S, hd) view with cos/sin batch ${tableBatch}`, () => {
      torch.scope(() => {
        torch.manualSeed(5);
        const projected = torch.randn([3, 6, 4, 8]).requiresGrad_(true); // (B, S, nh, hd) as a projection gives it
        const x = projected.transpose(1, 2);
        const cos = torch.randn([tableBatch, 6, 8]);
        const sin = torch.randn([tableBatch, 6, 8]);
        const upstream = torch.randn([3, 4, 6, 8]);

        const fused = applyRotary(x, cos, sin);
        fused.mul(upstream).sum().backward();
        const fusedGrad = (projected.grad as Tensor).clone();
        (projected.grad as Tensor).zero_();
        const reference = composite(x, cos, sin);
        reference.mul(upstream).sum().backward();

        expect(fused.shape).toEqual([3, 4, 6, 8]);
        expect(maxDiff(fused, reference)).toBeLessThan(1e-6);
        expect(maxDiff(fusedGrad, projected.grad as Tensor)).toBeLessThan(1e-6);
      });
    });
  }

  it('falls back to the composite ops for float64', () => {
    torch.scope(() => {
      torch.manualSeed(6);
      const x = torch.randn([2, 2, 5, 4], { dtype: 'float64' });
      const cos = torch.randn([1, 5, 4], { dtype: 'float64' });
      const sin = torch.randn([1, 5, 4], { dtype: 'float64' });
      const out = applyRotary(x, cos, sin);
      expect(out.dtype).toBe('float64');
      expect(maxDiff(out, composite(x, cos, sin))).toBe(0);
    });
  });
});
