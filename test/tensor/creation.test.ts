// Creating tensors from JS data, the eight dtypes, metadata and reading data back out.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { torch, TorchError, type DType } from '../../lib/index.js';

let liveAtStart = 0;
beforeEach(() => {
  liveAtStart = torch.liveTensors();
});
afterEach(() => {
  expect(torch.liveTensors(), 'tensors left alive by the test').toBe(liveAtStart);
});

const values = (t: torch.Tensor): number[] => Array.from(t.toArray(), Number);

describe('tensor() from typed arrays', () => {
  test('each typed array gives its own dtype and copies the data', () => {
    const cases: [ArrayBufferView, DType][] = [
      [new Float32Array([1.5, -2]), 'float32'],
      [new Float64Array([1.5, -2]), 'float64'],
      [new BigInt64Array([3n, -4n]), 'int64'],
      [new Int32Array([3, -4]), 'int32'],
      [new Uint8Array([3, 250]), 'uint8'],
    ];
    for (const [array, dtype] of cases) {
      torch.scope(() => {
        const t = torch.tensor(array);
        expect(t.dtype).toBe(dtype);
        expect(t.shape).toEqual([2]);
        expect(t.toArray()).toEqual(array);
        t.zero_();
        expect(t.toArray()).not.toEqual(array);
      });
    }
  });

  test('a shape option lays the elements out row-major', () => {
    torch.scope(() => {
      const t = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
      expect(t.shape).toEqual([2, 3]);
      expect(t.select(0, 1).toList()).toEqual([4, 5, 6]);
    });
  });

  test('a dtype option converts the elements', () => {
    torch.scope(() => {
      const halves = torch.tensor(new Float32Array([1.5, 2.25]), { dtype: 'float16' });
      expect(halves.dtype).toBe('float16');
      expect(halves.toArray()).toEqual(new Float32Array([1.5, 2.25]));
      expect(torch.tensor(new Float32Array([2.9, -2.9]), { dtype: 'int32' }).toArray()).toEqual(new Int32Array([2, -2]));
    });
  });

  test('a Uint16Array with dtype float16 or bfloat16 holds the bit patterns', () => {
    torch.scope(() => {
      const half = torch.tensor(new Uint16Array([0x3c00, 0xc000]), { dtype: 'float16' });
      expect(half.toArray()).toEqual(new Float32Array([1, -2]));
      const brain = torch.tensor(new Uint16Array([0x3f80, 0x4040]), { dtype: 'bfloat16' });
      expect(brain.dtype).toBe('bfloat16');
      expect(brain.toArray()).toEqual(new Float32Array([1, 3]));
      expect(new Uint16Array(brain.toBytes().buffer)).toEqual(new Uint16Array([0x3f80, 0x4040]));
    });
  });

  test('a shape that does not fit the data is refused', () => {
    expect(() => torch.tensor(new Float32Array(4), { shape: [2, 3] })).toThrow(/shape \[2, 3\] holds 6 elements, but the data has 4/);
    expect(() => torch.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(TorchError);
  });
});

describe('tensor() from nested arrays', () => {
  test('infers the shape and dtype as Python does', () => {
    torch.scope(() => {
      expect(torch.tensor([[1, 2], [3, 4]]).dtype).toBe('int64');
      expect(torch.tensor([1, 2.5]).dtype).toBe('float32');
      expect(torch.tensor([true, false]).dtype).toBe('bool');
      expect(torch.tensor([[[1], [2]]]).shape).toEqual([1, 2, 1]);
      expect(torch.tensor(3).shape).toEqual([]);
      expect(torch.tensor([]).shape).toEqual([0]);
    });
  });

  test('toList() gives the nested arrays back', () => {
    torch.scope(() => {
      expect(torch.tensor([[1.5, 2], [3, 4]]).toList()).toEqual([[1.5, 2], [3, 4]]);
      expect(torch.tensor([[true], [false]]).toList()).toEqual([[true], [false]]);
      expect(torch.tensor(7).toList()).toBe(7);
    });
  });

  test('ragged arrays and non-numbers are refused', () => {
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(/ragged nested array/);
    expect(() => torch.tensor([1, 'x' as unknown as number])).toThrow(/expected a number/);
  });
});

describe('dtypes', () => {
  const all: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'uint8', 'bool'];

  test.each(all)('%s: created, read back, converted and compared', (dtype) => {
    torch.scope(() => {
      const t = torch.tensor([0, 1, 1, 0], { dtype });
      expect(t.dtype).toBe(dtype);
      expect(values(t)).toEqual([0, 1, 1, 0]);
      expect(values(t.to('float32'))).toEqual([0, 1, 1, 0]);
      expect(torch.zeros([2], { dtype }).dtype).toBe(dtype);
      expect(torch.ones([3], { dtype }).sum().item()).toBe(dtype === 'bool' ? 3 : 3);
      expect(t.eq(torch.ones([4], { dtype })).toList()).toEqual([false, true, true, false]);
    });
  });

  test('toArray() returns the typed array of each dtype', () => {
    torch.scope(() => {
      expect(torch.zeros([1], { dtype: 'float32' }).toArray()).toBeInstanceOf(Float32Array);
      expect(torch.zeros([1], { dtype: 'float64' }).toArray()).toBeInstanceOf(Float64Array);
      expect(torch.zeros([1], { dtype: 'float16' }).toArray()).toBeInstanceOf(Float32Array);
      expect(torch.zeros([1], { dtype: 'bfloat16' }).toArray()).toBeInstanceOf(Float32Array);
      expect(torch.zeros([1], { dtype: 'int64' }).toArray()).toBeInstanceOf(BigInt64Array);
      expect(torch.zeros([1], { dtype: 'int32' }).toArray()).toBeInstanceOf(Int32Array);
      expect(torch.zeros([1], { dtype: 'uint8' }).toArray()).toBeInstanceOf(Uint8Array);
      expect(torch.zeros([1], { dtype: 'bool' }).toArray()).toBeInstanceOf(Uint8Array);
    });
  });

  test('item() reads one element in every dtype', () => {
    torch.scope(() => {
      expect(torch.tensor(2.5).item()).toBe(2.5);
      expect(torch.tensor(2.5, { dtype: 'float16' }).item()).toBe(2.5);
      expect(torch.tensor(2.5, { dtype: 'bfloat16' }).item()).toBe(2.5);
      expect(torch.tensor(0.1, { dtype: 'float64' }).item()).toBe(0.1);
      expect(torch.tensor(-7).item()).toBe(-7);
      expect(torch.tensor(-7, { dtype: 'int32' }).item()).toBe(-7);
      expect(torch.tensor(255, { dtype: 'uint8' }).item()).toBe(255);
      expect(torch.tensor(true).item()).toBe(1);
      expect(torch.tensor(false).item()).toBe(0);
      expect(torch.tensor(true).itemBool()).toBe(true);
      expect(torch.tensor(false).itemBool()).toBe(false);
      expect(torch.tensor(0.5).itemBool()).toBe(true);
      expect(torch.tensor(0).itemBool()).toBe(false);
      expect(() => torch.tensor([true, false]).itemBool()).toThrow(/itemBool\(\): the tensor has 2 elements, not 1/);
      expect(torch.tensor([[4]]).item()).toBe(4);
      expect(() => torch.tensor([1, 2]).item()).toThrow(/2 elements, not 1/);
    });
  });

  test('float16 and bfloat16 round to their precision', () => {
    torch.scope(() => {
      expect(torch.tensor([1 + 2 ** -12]).to('float16').item()).toBe(1);
      expect(torch.tensor([1 + 2 ** -9]).to('bfloat16').item()).toBe(1);
      expect(torch.tensor([65504 * 2]).to('float16').item()).toBe(Infinity);
    });
  });
});

describe('metadata and conversion', () => {
  test('shape, dtype, device, numel, ndim', () => {
    torch.scope(() => {
      const t = torch.zeros([2, 3, 4]);
      expect(t.shape).toEqual([2, 3, 4]);
      expect(t.dtype).toBe('float32');
      expect(t.device).toBe('cpu');
      expect(t.numel()).toBe(24);
      expect(t.ndim).toBe(3);
      expect(t.size(-1)).toBe(4);
      expect(torch.tensor(1).numel()).toBe(1);
      expect(torch.zeros([0, 5]).numel()).toBe(0);
    });
  });

  test('to() with the same dtype returns the same data; copy forces a new one', () => {
    torch.scope(() => {
      const t = torch.tensor([1, 2, 3], { dtype: 'float32' });
      const same = t.to('float32');
      same.add_(1);
      expect(t.toList()).toEqual([2, 3, 4]);
      const copied = t.to({ dtype: 'float32', copy: true });
      copied.add_(1);
      expect(t.toList()).toEqual([2, 3, 4]);
      expect(t.to('cpu').toList()).toEqual([2, 3, 4]);
      expect(t.to({ dtype: 'int64', device: 'cpu' }).dtype).toBe('int64');
    });
  });

  test('clone() and contiguous() own their data', () => {
    torch.scope(() => {
      const t = torch.arange(6).reshape(2, 3);
      const copy = t.clone();
      copy.fill_(0);
      expect(t.sum().item()).toBe(15);
      const transposed = t.transpose(0, 1);
      expect(transposed.isContiguous()).toBe(false);
      const packed = transposed.contiguous();
      expect(packed.isContiguous()).toBe(true);
      expect(packed.toList()).toEqual([[0, 3], [1, 4], [2, 5]]);
    });
  });

  test('toArray() of a non-contiguous view reads it in logical order', () => {
    torch.scope(() => {
      expect(values(torch.arange(6).reshape(2, 3).transpose(0, 1))).toEqual([0, 3, 1, 4, 2, 5]);
    });
  });
});

describe('factories', () => {
  test('empty, zeros, ones, full, eye, arange, linspace', () => {
    torch.scope(() => {
      expect(torch.empty([2, 2]).shape).toEqual([2, 2]);
      expect(values(torch.zeros([3]))).toEqual([0, 0, 0]);
      expect(values(torch.ones([2], { dtype: 'int64' }))).toEqual([1, 1]);
      expect(values(torch.full([2], -3.5))).toEqual([-3.5, -3.5]);
      expect(torch.full([1], true).dtype).toBe('bool');
      expect(torch.eye(2).toList()).toEqual([[1, 0], [0, 1]]);
      expect(values(torch.arange(0, 1, 0.25))).toEqual([0, 0.25, 0.5, 0.75]);
      expect(torch.arange(3, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
      expect(values(torch.linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    });
  });

  test('*Like keep shape and dtype unless a dtype is given', () => {
    torch.scope(() => {
      const t = torch.zeros([2, 3], { dtype: 'float64' });
      for (const like of [torch.emptyLike(t), torch.zerosLike(t), torch.onesLike(t), torch.fullLike(t, 2), torch.randnLike(t), torch.randLike(t)]) {
        expect(like.shape).toEqual([2, 3]);
        expect(like.dtype).toBe('float64');
      }
      expect(torch.onesLike(t, { dtype: 'int32' }).dtype).toBe('int32');
      expect(torch.fullLike(t, 2).sum().item()).toBe(12);
    });
  });

  test('requiresGrad option marks a leaf', () => {
    torch.scope(() => {
      const t = torch.zeros([2], { requiresGrad: true });
      expect(t.requiresGrad).toBe(true);
      expect(t.isLeaf).toBe(true);
      expect(torch.tensor([1.5], { requiresGrad: true }).requiresGrad).toBe(true);
      expect(torch.tensor([1, 2], { requiresGrad: true }).dtype).toBe('float32');
    });
  });
});
