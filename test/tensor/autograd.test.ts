// Autograd: requiresGrad, backward(gradient?, {retainGraph}), grad, detach, noGrad(fn), enableGrad(fn).
import { afterEach, describe, expect, test } from 'vitest';
import { torch, TorchError, type Tensor } from '../../lib/index.js';

const grad = (t: Tensor): number[] => Array.from((t.grad as Tensor).toArray(), Number);

afterEach(() => {
  expect(torch.isGradEnabled(), 'grad mode restored').toBe(true);
});

describe('requiresGrad and leaves', () => {
  test('new tensors do not require grad; requiresGrad_ and the setter switch it', () => {
    torch.scope(() => {
      const t = torch.zeros([2]);
      expect(t.requiresGrad).toBe(false);
      expect(t.requiresGrad_()).toBe(t);
      expect(t.requiresGrad).toBe(true);
      t.requiresGrad = false;
      expect(t.requiresGrad).toBe(false);
    });
  });

  test('results of ops on tracked tensors are non-leaves that require grad', () => {
    torch.scope(() => {
      const x = torch.ones([2], { requiresGrad: true });
      const y = x.mul(2);
      expect(x.isLeaf).toBe(true);
      expect(y.isLeaf).toBe(false);
      expect(y.requiresGrad).toBe(true);
    });
  });

  test('integer tensors cannot require grad', () => {
    torch.scope(() => {
      expect(() => torch.tensor([1, 2]).requiresGrad_(true)).toThrow(TorchError);
    });
  });
});

describe('backward', () => {
  test('a scalar output needs no gradient; grads land on the leaves', () => {
    torch.scope(() => {
      const x = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
      x.pow(2).sum().backward();
      expect(grad(x)).toEqual([2, 4, 6]);
    });
  });

  test('a non-scalar output takes an explicit gradient', () => {
    torch.scope(() => {
      const x = torch.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
      x.mul(3).backward(torch.tensor([1, 0.5, -1]));
      expect(grad(x)).toEqual([3, 1.5, -3]);
    });
  });

  test('a non-scalar output without a gradient is refused with the shape to pass', () => {
    torch.scope(() => {
      const x = torch.ones([2, 2], { requiresGrad: true });
      expect(() => x.mul(2).backward()).toThrow(/pass a gradient of shape \[2, 2\]/);
    });
  });

  test('gradients accumulate over backward calls until cleared', () => {
    torch.scope(() => {
      const x = torch.tensor([1.5], { requiresGrad: true });
      x.mul(2).sum().backward();
      x.mul(3).sum().backward();
      expect(grad(x)).toEqual([5]);
      x.grad = null;
      expect(x.grad).toBeNull();
      x.mul(4).sum().backward();
      expect(grad(x)).toEqual([4]);
    });
  });

  test('a second backward through the same graph needs retainGraph', () => {
    torch.scope(() => {
      const x = torch.tensor([2.0], { requiresGrad: true });
      const y = x.exp().sum();
      y.backward(undefined, { retainGraph: true });
      y.backward();
      expect(grad(x)[0]).toBeCloseTo(2 * Math.exp(2), 4);
      expect(() => y.backward()).toThrow(/backward through the graph a second time/);
    });
  });

  test('backward on a tensor that does not require grad is a TorchError', () => {
    torch.scope(() => {
      expect(() => torch.ones([1]).sum().backward()).toThrow(TorchError);
    });
  });

  test('grad of a leaf that took no part is null', () => {
    torch.scope(() => {
      const used = torch.ones([1], { requiresGrad: true });
      const unused = torch.ones([1], { requiresGrad: true });
      used.mul(2).sum().backward();
      expect(unused.grad).toBeNull();
    });
  });

  test('grad can be set to a tensor', () => {
    torch.scope(() => {
      const x = torch.zeros([2], { requiresGrad: true });
      x.grad = torch.tensor([0.5, 0.25]);
      expect(grad(x)).toEqual([0.5, 0.25]);
    });
  });
});

describe('detach', () => {
  test('shares the data but leaves the graph', () => {
    torch.scope(() => {
      const x = torch.ones([3], { requiresGrad: true });
      const d = x.detach();
      expect(d.requiresGrad).toBe(false);
      d.fill_(4);
      expect(x.sum().item()).toBe(12);
      const y = x.mul(d).sum();
      y.backward();
      expect(grad(x)).toEqual([4, 4, 4]);
    });
  });
});

describe('grad mode', () => {
  test('noGrad(fn) records nothing and returns fn’s result', () => {
    torch.scope(() => {
      const x = torch.ones([2], { requiresGrad: true });
      const y = torch.noGrad(() => {
        expect(torch.isGradEnabled()).toBe(false);
        return x.mul(2);
      });
      expect(y.requiresGrad).toBe(false);
      expect(torch.isGradEnabled()).toBe(true);
    });
  });

  test('enableGrad(fn) records inside noGrad', () => {
    torch.scope(() => {
      const x = torch.ones([2], { requiresGrad: true });
      const y = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
      expect(y.requiresGrad).toBe(true);
    });
  });

  test('in-place updates under noGrad do not become part of the graph', () => {
    torch.scope(() => {
      const w = torch.ones([2], { requiresGrad: true });
      torch.noGrad(() => w.sub_(torch.tensor([0.5, 0.5])));
      expect(w.isLeaf).toBe(true);
      w.mul(3).sum().backward();
      expect(grad(w)).toEqual([3, 3]);
    });
  });

  test('the previous mode is restored when fn throws', () => {
    expect(() => torch.noGrad(() => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(torch.isGradEnabled()).toBe(true);
    torch.noGrad(() => {
      expect(() => torch.enableGrad(() => {
        throw new Error('inner');
      })).toThrow('inner');
      expect(torch.isGradEnabled()).toBe(false);
    });
  });
});
