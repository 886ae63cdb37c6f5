// Parameter and emptyParameter.
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';

describe('Parameter', () => {
  it('is a leaf that requires grad (unless told not to) and shares the data it was made from', () => {
    const data = torch.zeros([3]);
    const p = new nn.Parameter(data);
    const frozen = new nn.Parameter(data, false);
    expect([p.isLeaf, p.requiresGrad, frozen.requiresGrad]).toEqual([true, true, false]);
    data.fill_(2);
    expect(p.toList()).toEqual([2, 2, 2]);
    for (const t of [data, p, frozen]) t.dispose();
  });

  it('outlives the scope it was made in', () => {
    const p = torch.scope(() => {
      const data = torch.ones([2]);
      return { p: new nn.Parameter(data) };
    }).p;
    expect(p.disposed).toBe(false);
    expect(p.toList()).toEqual([1, 1]);
    p.dispose();
  });

  it('emptyParameter makes a trainable parameter of a shape and dtype', () => {
    const p = nn.emptyParameter([2, 3], { dtype: 'float64' });
    expect([[...p.shape], p.dtype, p.requiresGrad]).toEqual([[2, 3], 'float64', true]);
    p.dispose();
  });
});
