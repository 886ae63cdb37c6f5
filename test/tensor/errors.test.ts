// Errors: LibTorch failures are one-line TorchErrors, bad arguments are named in TS, use after dispose is
// clear, and no input a user can give crashes the process.
import { describe, expect, test } from 'vitest';
import { torch, TorchError, type Tensor } from '../../lib/index.js';

/** Runs fn, expects a TorchError, and returns its message. */
function torchErrorOf(fn: () => unknown): string {
  try {
    torch.scope(fn);
  } catch (error) {
    expect(error).toBeInstanceOf(TorchError);
    return (error as TorchError).message;
  }
  throw new Error('expected a TorchError, but nothing was thrown');
}

describe('LibTorch errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['matmul of mismatched shapes', () => torch.zeros([2, 3]).matmul(torch.zeros([4, 5])), /mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/],
    ['add without broadcastable shapes', () => torch.zeros([2, 3]).add(torch.zeros([4])), /size of tensor a \(3\) must match the size of tensor b \(4\)/],
    ['view of the wrong size', () => torch.zeros([2, 3]).view(4, 2), /shape '\[4, 2\]' is invalid for input of size 6/],
    ['cat of mismatched shapes', () => torch.cat([torch.zeros([2, 3]), torch.zeros([2, 4])]), /Sizes of tensors must match/],
    ['dim out of range', () => torch.zeros([2, 3]).sum(5), /Dimension out of range/],
    ['index out of range', () => torch.zeros([3]).indexSelect(0, torch.tensor([7])), /out of range/i],
    ['embedding index out of range', () => torch.F.embedding(torch.tensor([9]), torch.zeros([4, 2])), /out of range/i],
    ['linear with the wrong in-features', () => torch.F.linear(torch.zeros([2, 3]), torch.zeros([4, 5])), /shapes cannot be multiplied/],
    ['conv2d with the wrong channels', () => torch.F.conv2d(torch.zeros([1, 3, 4, 4]), torch.zeros([2, 5, 3, 3])), /expected input.*to have 5 channels/],
    ['crossEntropy target out of range', () => torch.F.crossEntropy(torch.zeros([2, 3]), torch.tensor([0, 5])), /out of bounds/],
    ['an impossible allocation', () => torch.zeros([2 ** 50]), /allocate|memory/i],
  ];

  test.each(cases)('%s: a TorchError with LibTorch’s first line and no backtrace', (_name, fn, wanted) => {
    const message = torchErrorOf(fn);
    expect(message).toMatch(wanted);
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/Exception raised from|frame #|\.cpp:\d+/);
  });

  test('TorchError is an Error with its own name', () => {
    const error = (() => {
      try {
        torch.zeros([2]).view(3);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(Error);
    expect(error?.name).toBe('TorchError');
  });
});

describe('wrong argument types are refused in TS, naming the argument', () => {
  const x = (): Tensor => torch.zeros([2, 3]);
  const bad = (value: unknown) => value as never;
  const cases: [string, () => unknown, RegExp][] = [
    ['add(string)', () => x().add(bad('1')), /^add: other: expected a Tensor or a number, got string "1"$/],
    ['mul(undefined)', () => x().mul(bad(undefined)), /^mul: other: expected a Tensor or a number, got undefined$/],
    ['matmul(number)', () => x().matmul(bad(2)), /^matmul: other: expected a Tensor, got number 2$/],
    ['reshape(string)', () => x().reshape(bad('6')), /^reshape: shape: expected integers, got \["6"\]$/],
    ['reshape(fraction)', () => x().reshape(bad(1.5), 4), /^reshape: shape: expected integers, got \[1.5,4\]$/],
    ['transpose(null)', () => x().transpose(bad(null), 1), /^transpose: dim0: expected an integer, got null$/],
    ['sum(string dim)', () => x().sum(bad('0')), /^sum: dim: expected integers/],
    ['softmax without dim', () => torch.F.softmax(x(), bad(undefined)), /^softmax: dim: expected an integer, got undefined$/],
    ['linear(array weight)', () => torch.F.linear(x(), bad([[1]])), /^linear: weight: expected a Tensor, got an array$/],
    ['linear(bias as number)', () => torch.F.linear(x(), x(), bad(1)), /^linear: bias: expected a Tensor, got number 1$/],
    ['cat with a non-tensor', () => torch.cat([x(), bad({})]), /^cat: tensors\[1\]: expected a Tensor, got Object$/],
    ['zeros(negative shape)', () => torch.zeros([2, -1]), /^zeros: shape: expected an array of non-negative integers, got \[2,-1\]$/],
    ['randint(float bound)', () => torch.randint(0, 2.5, [3]), /^randint: high: expected an integer, got number 2.5$/],
    ['tensor(bad dtype)', () => torch.tensor([1], { dtype: bad('float') }), /^dtype: expected one of float32, .*got "float"$/],
    ['to(bad target)', () => x().to(bad(5)), /^to: target: expected a dtype, a device or/],
    ['clamp(string)', () => x().clamp(bad('0')), /^clamp: min: expected a number, got string "0"$/],
    ['conv2d(stride fraction)', () => torch.F.conv2d(torch.zeros([1, 1, 3, 3]), torch.zeros([1, 1, 1, 1]), null, { stride: 1.5 }),
      /^conv2d: stride: expected integers, got \[1.5,1.5\]$/],
    ['backward(number)', () => x().requiresGrad_().sum().backward(bad(1)), /^backward: gradient: expected a Tensor, got number 1$/],
  ];

  test.each(cases)('%s', (_name, fn, wanted) => {
    expect(torchErrorOf(fn)).toMatch(wanted);
  });
});

describe('use after dispose', () => {
  test('any use of a disposed tensor throws a clear TorchError', () => {
    const t = torch.zeros([2]);
    t.dispose();
    const uses: (() => unknown)[] = [() => t.shape, () => t.add(1), () => t.toArray(), () => t.item(), () => t.dispose()];
    for (const use of uses.slice(0, 4)) expect(() => use()).toThrow(/^Tensor was used after dispose\(\)$/);
    expect(() => uses[4]()).not.toThrow();
  });

  test('a disposed tensor passed as an argument is refused the same way', () => {
    const a = torch.zeros([2]);
    const b = torch.zeros([2]);
    b.dispose();
    expect(() => a.add(b)).toThrow(/^Tensor was used after dispose\(\)$/);
    expect(() => torch.cat([a, b])).toThrow(/^Tensor was used after dispose\(\)$/);
    a.dispose();
  });

  test('a stale native handle is refused even after its slot is reused', () => {
    const a = torch.zeros([2]);
    const stale = a.handle;
    a.dispose();
    const reused = torch.ones([2]);
    const wrapped = new torch.Tensor(stale);
    expect(() => wrapped.sum()).toThrow(/^Tensor was used after dispose\(\)$/);
    expect(reused.sum().item()).toBe(2);
    wrapped.dispose();
    expect(reused.disposed).toBe(false);
    expect(reused.sum().item()).toBe(2);
    reused.dispose();
  });
});

describe('robustness', () => {
  test('a burst of bad calls leaves the process healthy and leaks nothing', () => {
    const before = torch.liveTensors();
    const attempts: (() => unknown)[] = [
      () => torch.zeros([3]).select(0, 10),
      () => torch.zeros([3]).narrow(0, 2, 5),
      () => torch.zeros([2, 2]).gather(1, torch.tensor([[5]])),
      () => torch.zeros([2]).scatter(0, torch.tensor([9]), 1),
      () => torch.F.interpolate(torch.zeros([1, 1, 2, 2]), { size: [0, 0], mode: 'bilinear' }),
      () => torch.F.scaledDotProductAttention(torch.zeros([1, 2, 3]), torch.zeros([1, 4, 5]), torch.zeros([1, 4, 5])),
      () => torch.F.layerNorm(torch.zeros([2, 3]), [4]),
      () => torch.tensor([1, 2]).requiresGrad_(),
      () => torch.einsum('ij,jk->ik', torch.zeros([2, 3])),
      () => torch.zeros([2]).split([1, 5]),
      () => torch.zeros([2]).to('cuda:7'),
      () => torch.tensor(new Float32Array(3), { shape: [4] }),
    ];
    for (const attempt of attempts) expect(() => torch.scope(attempt)).toThrow(TorchError);
    expect(torch.liveTensors()).toBe(before);
    torch.scope(() => expect(torch.ones([2]).add(1).sum().item()).toBe(4));
  });
});
