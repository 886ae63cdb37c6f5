import { describe, expect, it } from 'vitest';
import { torch, TorchError } from '../../lib/index.js';

describe('smoke', () => {
  it('adds and reads back', () => {
    const a = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    const b = a.add(1).mul(2);
    expect(Array.from(b.toArray())).toEqual([4, 6, 8, 10]);
    expect(b.shape).toEqual([2, 2]);
    expect(() => a.matmul(torch.zeros([3, 3]))).toThrow(TorchError);
    try { a.matmul(torch.zeros([3, 3])); } catch (e) { console.log((e as Error).message); }
    torch.manualSeed(0);
    console.log(Array.from(torch.randn([4]).toArray()));
  });
});
