// Conv2d (init and outputs against PyTorch are in reference.test.ts).
import { describe, expect, it } from 'vitest';
import { nn, torch } from '../../lib/index.js';

describe('Conv2d', () => {
  it('has weight [out, in/groups, kh, kw] and bias [out]', () => {
    const conv = new nn.Conv2d(4, 6, [3, 2], { groups: 2, bias: true });
    expect(conv.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([['weight', [6, 2, 3, 2]], ['bias', [6]]]);
    expect(new nn.Conv2d(1, 1, 1, { bias: false }).bias).toBeNull();
    conv.dispose();
  });

  it.each([
    [{ padding: 0 }, [1, 2, 5, 5]],
    [{ padding: 'valid' as const }, [1, 2, 5, 5]],
    [{ padding: 1, stride: 2 }, [1, 2, 4, 4]],
    [{ padding: 'same' as const }, [1, 2, 7, 7]],
    [{ padding: 'same' as const, dilation: 2 }, [1, 2, 7, 7]],
  ])('output shape with %j', (options, shape) => {
    const conv = new nn.Conv2d(3, 2, 3, options);
    const x = torch.randn([1, 3, 7, 7]);
    const y = conv.forward(x);
    expect(y.shape).toEqual(shape);
    for (const t of [x, y]) t.dispose();
    conv.dispose();
  });

  it('names a bad argument', () => {
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/inChannels \(3\) must be divisible by groups \(2\)/);
    expect(() => new nn.Conv2d(2, 4, [3, 0])).toThrow(/kernelSize must be an integer >= 1 or a pair of them, got \[3,0\]/);
    expect(() => new nn.Conv2d(2, 4, 3, { padding: 'same', stride: 2 })).toThrow(/padding='same' is not supported for strided convolutions/);
  });
});
