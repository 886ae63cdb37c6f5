// clipGradNorm, as torch.nn.utils.clip_grad_norm_.
import { describe, expect, it } from 'vitest';
import { nn, optim, torch } from '../../lib/index.js';

function withGrad(grad: number[]): nn.Parameter {
  const data = torch.zeros([grad.length]);
  const p = new nn.Parameter(data);
  data.dispose();
  const g = torch.tensor(grad, { dtype: 'float32' });
  p.grad = g;
  g.dispose();
  return p;
}

const gradOf = (p: nn.Parameter): number[] => {
  const g = p.grad;
  const values = g ? [...g.toArray()].map(Number) : [];
  g?.dispose();
  return values;
};

describe('clipGradNorm', () => {
  it('returns the total 2-norm and scales all gradients together to maxNorm', () => {
    const [a, b] = [withGrad([3, 0]), withGrad([0, 4])];
    const total = optim.clipGradNorm([a, b], 1);
    expect(total).toBeCloseTo(5, 6);
    const coef = 1 / (5 + 1e-6);
    expect(gradOf(a)[0]).toBeCloseTo(3 * coef, 6);
    expect(gradOf(b)[1]).toBeCloseTo(4 * coef, 6);
    a.dispose();
    b.dispose();
  });

  it('leaves gradients below maxNorm as they are', () => {
    const p = withGrad([0.3, 0.4]);
    expect(optim.clipGradNorm([p], 10)).toBeCloseTo(0.5, 6);
    expect(gradOf(p).map((v) => +v.toFixed(6))).toEqual([0.3, 0.4]);
    p.dispose();
  });

  it('supports the infinity norm and named parameters, and ignores parameters without a gradient', () => {
    const a = withGrad([-6, 2]);
    const data = torch.zeros([2]);
    const none = new nn.Parameter(data);
    data.dispose();
    expect(optim.clipGradNorm([['a', a], ['none', none]], 3, Infinity)).toBe(6);
    expect(gradOf(a)[0]).toBeCloseTo(-3, 5);
    expect(optim.clipGradNorm([none], 1)).toBe(0);
    a.dispose();
    none.dispose();
  });

  it('names a bad argument', () => {
    const p = withGrad([1]);
    expect(() => optim.clipGradNorm([p], Number.NaN)).toThrow(/clipGradNorm: maxNorm must be a number, got NaN/);
    expect(() => optim.clipGradNorm([p], 1, 0)).toThrow(/normType must be a positive number or Infinity, got 0/);
    const plain = torch.zeros([1]);
    expect(() => optim.clipGradNorm([plain as nn.Parameter], 1)).toThrow(/params\[0\] is not a Parameter/);
    plain.dispose();
    p.dispose();
  });
});
