// Activation modules and Dropout.
import { describe, expect, it } from 'vitest';
import { nn, torch, type Tensor } from '../../lib/index.js';

const input = [-2, -0.5, 0, 0.5, 2];

describe.each([
  ['ReLU', new nn.ReLU(), (v: number) => Math.max(0, v)],
  ['GELU', new nn.GELU(), (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
  ['GELU tanh', new nn.GELU('tanh'), (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
  ['SiLU', new nn.SiLU(), (v: number) => v / (1 + Math.exp(-v))],
  ['Tanh', new nn.Tanh(), Math.tanh],
  ['Sigmoid', new nn.Sigmoid(), (v: number) => 1 / (1 + Math.exp(-v))],
] as [string, nn.Module & { forward(x: Tensor): Tensor }, (v: number) => number][])('%s', (_, module, formula) => {
  it('computes its formula elementwise', () => {
    const x = torch.tensor(input, { dtype: 'float32' });
    const y = module.forward(x);
    [...y.toArray()].forEach((v, i) => expect(v).toBeCloseTo(formula(input[i]), 5));
    expect(module.parameters()).toEqual([]);
    for (const t of [x, y]) t.dispose();
  });
});

// Abramowitz-Stegun 7.1.26 is too coarse; use a series good to ~1e-7 on [-3, 3].
function erf(x: number): number {
  let sum = x;
  let term = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('GELU options', () => {
  it('rejects an unknown approximation', () => {
    expect(() => new nn.GELU('fast' as 'tanh')).toThrow(/GELU: approximate must be 'none' or 'tanh', got "fast"/);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the inputs and scales the rest by 1/(1-p) in training; passes through in eval', () => {
    const dropout = new nn.Dropout(0.25);
    const x = torch.ones([10000]);
    const y = dropout.forward(x);
    const values = [...y.toArray()].map(Number);
    const kept = values.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(1 - kept.length / values.length - 0.25)).toBeLessThan(0.03);
    dropout.eval();
    expect(dropout.forward(x)).toBe(x);
    for (const t of [x, y]) t.dispose();
  });

  it('names a bad p', () => {
    expect(() => new nn.Dropout(1.5)).toThrow(/Dropout: p must be a probability between 0 and 1, got 1.5/);
  });
});
