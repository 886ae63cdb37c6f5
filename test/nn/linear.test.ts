// Linear and Identity.
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';

describe('Linear', () => {
  it('has PyTorch names and shapes, with or without bias', () => {
    const withBias = new nn.Linear(3, 5);
    expect(withBias.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([['weight', [5, 3]], ['bias', [5]]]);
    const without = new nn.Linear(3, 5, { bias: false });
    expect(without.bias).toBeNull();
    expect(Object.keys(without.stateDict())).toEqual(['weight']);
    expect(without.toString()).toBe('Linear(in_features=3, out_features=5, bias=false)');
    withBias.dispose();
    without.dispose();
  });

  it('initialises within the kaiming bound 1/sqrt(inFeatures) and creates parameters with the given dtype', () => {
    const linear = new nn.Linear(16, 64, { dtype: 'float64' });
    expect(linear.weight.dtype).toBe('float64');
    const bound = 1 / Math.sqrt(16);
    const limit = torch.scope(() => linear.weight.abs().max().item());
    expect(limit).toBeLessThanOrEqual(bound);
    expect(limit).toBeGreaterThan(bound * 0.8);
    expect(linear.weight.requiresGrad).toBe(true);
    linear.dispose();
  });

  it('forward is x W^T + b over any leading dims', () => {
    const linear = new nn.Linear(3, 2);
    const x = torch.randn([4, 5, 3]);
    const [y, expected] = [linear.forward(x), torch.F.linear(x, linear.weight, linear.bias)];
    expect(y.shape).toEqual([4, 5, 2]);
    expect(y.equal(expected)).toBe(true);
    for (const t of [x, y, expected]) t.dispose();
    linear.dispose();
  });

  it('names a bad size', () => {
    expect(() => new nn.Linear(-1, 2)).toThrow(/Linear: inFeatures must be a non-negative integer, got -1/);
    expect(() => new nn.Linear(2, 1.5)).toThrow(/Linear: outFeatures must be a non-negative integer, got 1.5/);
  });
});

describe('Identity', () => {
  it('returns its input', () => {
    const x = torch.ones([2]);
    expect(new nn.Identity().forward(x)).toBe(x);
    x.dispose();
  });
});
