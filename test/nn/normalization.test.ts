// LayerNorm and RMSNorm.
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';

describe('LayerNorm', () => {
  it('starts at weight 1, bias 0; bias and affine can be turned off', () => {
    const ln = new nn.LayerNorm([2, 3]);
    expect(ln.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([['weight', [2, 3]], ['bias', [2, 3]]]);
    expect([...(ln.weight?.toArray() ?? [])]).toEqual([1, 1, 1, 1, 1, 1]);
    expect([...(ln.bias?.toArray() ?? [])]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Object.keys(new nn.LayerNorm(4, { bias: false }).stateDict())).toEqual(['weight']);
    expect(new nn.LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
    ln.dispose();
  });

  it('normalises the last dims to mean 0, variance 1', () => {
    const ln = new nn.LayerNorm(8, { eps: 1e-6 });
    const x = torch.randn([3, 8]).mul(5).add(2);
    const [mean, variance] = torch.scope(() => {
      const y = ln.forward(x);
      return [y.mean(-1).abs().max().item(), y.var(-1, { correction: 0 }).sub(1).abs().max().item()];
    });
    expect(mean).toBeLessThan(1e-5);
    expect(variance).toBeLessThan(1e-4);
    x.dispose();
    ln.dispose();
  });

  it('names a bad shape or eps', () => {
    expect(() => new nn.LayerNorm([])).toThrow(/LayerNorm: normalizedShape must be a non-negative integer or a non-empty array of them, got \[\]/);
    expect(() => new nn.LayerNorm(4, { eps: 0 })).toThrow(/LayerNorm: eps must be a positive number, got 0/);
  });
});

describe('RMSNorm', () => {
  it('has one weight, 1 at init, and divides by the root mean square', () => {
    const rms = new nn.RMSNorm(4, { eps: 1e-6 });
    expect(rms.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const x = torch.tensor([[1, 2, 3, 4]], { dtype: 'float32' });
    const y = rms.forward(x);
    const scale = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
    [...y.toArray()].forEach((v, i) => expect(v).toBeCloseTo((i + 1) / scale, 6));
    for (const t of [x, y]) t.dispose();
    rms.dispose();
  });

  it('defaults eps to null (the dtype epsilon, as PyTorch)', () => {
    expect(new nn.RMSNorm(4).eps).toBeNull();
    expect(new nn.RMSNorm(4, { elementwiseAffine: false }).weight).toBeNull();
  });
});
