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

describe('Conv3d', () => {
  it('output shape follows kernel, stride, padding and dilation as torch.nn.Conv3d', () => {
    const conv = new nn.Conv3d(2, 3, [3, 1, 2], { stride: [1, 2, 1], padding: [1, 0, 1], dilation: [2, 1, 1] });
    expect(conv.weight.shape).toEqual([3, 2, 3, 1, 2]);
    // D: (5 + 2 - 2·2 - 1) / 1 + 1 = 3; H: (6 - 1) / 2 + 1 = 3; W: (4 + 2 - 1 - 1) / 1 + 1 = 5
    expect(conv.forward(torch.randn([1, 2, 5, 6, 4])).shape).toEqual([1, 3, 3, 3, 5]);
  });

  it('groups split the channels; a 1×1×1 kernel is a per-position linear map', () => {
    const grouped = new nn.Conv3d(4, 2, 1, { groups: 2, bias: false });
    expect(grouped.weight.shape).toEqual([2, 2, 1, 1, 1]);
    const x = torch.randn([2, 4, 2, 2, 2]);
    const pointwise = new nn.Conv3d(4, 3, 1);
    const asLinear = torch.F.linear(x.permute(0, 2, 3, 4, 1), pointwise.weight.flatten(1), pointwise.bias).permute(0, 4, 1, 2, 3);
    expect(pointwise.forward(x).sub(asLinear).abs().max().item()).toBeLessThan(1e-5);
  });
});
