// Truncated normal draws: the sampler's erf agrees with Python's math.erf, draws stay within [a, b], nothing leaks,
// and bad arguments are refused by name. (Seeded draws against PyTorch: test/nn/init.test.ts.)
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';
import { erf } from '../../lib/tensor/trunc-normal.js';

describe('erf', () => {
  it.each([
    [0, 0],
    [1e-9, 1.1283791670955127e-9],
    [0.3, 0.3286267594591274],
    [-0.7, -0.6778011938374184],
    [1, 0.8427007929497149],
    [2.5, 0.999593047982555],
    [-3.2, -0.9999939742388483],
    [4.9, 0.999999999995781],
    [6.5, 1],
  ])('erf(%s) = %s as math.erf', (x, expected) => {
    expect(Math.abs(erf(x) - expected)).toBeLessThanOrEqual(2e-15);
  });
});

describe('Tensor.truncNormal_', () => {
  it.each([
    ['normal rejection (mass > 30%)', 3, 2, 2.5, 8],
    ['uniform rejection (mass ≤ 30%)', 3, 2, 9, 10],
  ])('%s: every draw lies in [a, b] and the tensor is returned', (_, mean, std, a, b) => {
    torch.manualSeed(1);
    const t = torch.empty([1000], { dtype: 'float64' });
    expect(t.truncNormal_(mean, std, a, b)).toBe(t);
    expect(t.min().item()).toBeGreaterThanOrEqual(a);
    expect(t.max().item()).toBeLessThanOrEqual(b);
    expect(t.std().item()).toBeGreaterThan(0);
    t.dispose();
  });

  it('leaves no tensors behind and records no autograd on a Parameter', () => {
    const data = torch.zeros([64]);
    const p = new nn.Parameter(data);
    data.dispose();
    const live = torch.liveTensors();
    p.truncNormal_(0, 1, -0.3, 0.3);
    p.truncNormal_(0, 1, 1, 1.2);
    expect(torch.liveTensors()).toBe(live);
    expect(p.isLeaf).toBe(true);
    p.dispose();
  });

  it('refuses a non-positive std, empty bounds and non-finite numbers, naming the argument', () => {
    const t = torch.empty([4]);
    expect(() => t.truncNormal_(0, 0)).toThrow(/truncNormal_: std must be > 0, got 0/);
    expect(() => t.truncNormal_(0, 1, 1, 1)).toThrow(/truncNormal_: the bounds must satisfy a < b, got a=1, b=1/);
    expect(() => t.truncNormal_(Number.NaN)).toThrow(/truncNormal_: mean must be a finite number, got NaN/);
    expect(() => t.truncNormal_(0, 1, -Infinity)).toThrow(/truncNormal_: a must be a finite number, got -Infinity/);
    t.dispose();
  });
});
