// Memory: dispose() and scope() free native tensors deterministically; long loops keep RSS flat.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { torch, type Tensor } from '../../lib/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// One intra-op thread: the loops below measure memory, and stay fast on a loaded machine.
torch.setNumThreads(1);

describe('dispose', () => {
  test('frees the native tensor once; a second dispose is harmless', () => {
    const before = torch.liveTensors();
    const t = torch.zeros([4]);
    expect(torch.liveTensors()).toBe(before + 1);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(torch.liveTensors()).toBe(before);
  });

  test('`using` disposes at the end of the block', () => {
    const before = torch.liveTensors();
    {
      using t = torch.ones([3]);
      using total = t.sum();
      expect(total.item()).toBe(3);
      expect(torch.liveTensors()).toBe(before + 2);
    }
    expect(torch.liveTensors()).toBe(before);
  });

  test('a view keeps its base’s memory alive after the base is disposed', () => {
    const base = torch.arange(6, undefined, 1, { dtype: 'float32' });
    const view = base.reshape(2, 3);
    base.dispose();
    expect(view.toList()).toEqual([[0, 1, 2], [3, 4, 5]]);
    view.dispose();
  });

  test('tensors dropped without dispose are reclaimed by the garbage collector (safety net)', async () => {
    const before = torch.liveTensors();
    (() => {
      for (let i = 0; i < 200; i++) torch.zeros([16]);
    })();
    expect(torch.liveTensors()).toBe(before + 200);
    for (let round = 0; round < 10 && torch.liveTensors() > before; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(torch.liveTensors()).toBe(before);
  });
});

describe('scope', () => {
  test('frees every tensor made inside except the result', () => {
    const before = torch.liveTensors();
    const result = torch.scope(() => {
      const a = torch.randn([3]);
      const b = a.mul(2).add(1);
      return b.sum();
    });
    expect(torch.liveTensors()).toBe(before + 1);
    expect(result.disposed).toBe(false);
    result.dispose();
  });

  test('keeps tensors found in returned arrays, plain objects and Maps', () => {
    const before = torch.liveTensors();
    const { list, record, map } = torch.scope(() => {
      torch.zeros([1]);
      return {
        list: [torch.ones([1]), 7],
        record: { nested: { t: torch.ones([2]) } },
        map: new Map([['k', torch.ones([3])]]),
      };
    });
    expect(torch.liveTensors()).toBe(before + 3);
    expect((map.get('k') as Tensor).shape).toEqual([3]);
    for (const t of [list[0] as Tensor, record.nested.t, map.get('k') as Tensor]) t.dispose();
    expect(torch.liveTensors()).toBe(before);
  });

  test('nested scopes hand the inner result to the outer scope', () => {
    const before = torch.liveTensors();
    let inner: Tensor | null = null;
    const outer = torch.scope(() => {
      inner = torch.scope(() => {
        torch.zeros([1]);
        return torch.ones([1]);
      });
      expect(torch.liveTensors()).toBe(before + 1);
      return inner.add(1);
    });
    expect((inner as unknown as Tensor).disposed).toBe(true);
    expect(outer.item()).toBe(2);
    outer.dispose();
    expect(torch.liveTensors()).toBe(before);
  });

  test('a throw inside frees everything made there and passes the error on', () => {
    const before = torch.liveTensors();
    const made: Tensor[] = [];
    expect(() =>
      torch.scope(() => {
        made.push(torch.zeros([2]), torch.ones([2]));
        torch.scope(() => {
          made.push(torch.ones([3]));
          throw new Error('inside');
        });
      }),
    ).toThrow('inside');
    expect(made.every((t) => t.disposed)).toBe(true);
    expect(torch.liveTensors()).toBe(before);
  });

  test('keep() lets a tensor outlive its scope; tensors made before the scope are untouched', () => {
    const before = torch.liveTensors();
    const outside = torch.zeros([1]);
    const kept = torch.scope(() => {
      outside.add(1);
      torch.keep(torch.ones([1]));
      return null;
    });
    expect(kept).toBeNull();
    expect(outside.disposed).toBe(false);
    expect(torch.liveTensors()).toBe(before + 2);
    outside.dispose();
  });

  test('an async fn is refused (tensors made after an await would escape)', () => {
    const before = torch.liveTensors();
    expect(() => torch.scope(async () => torch.zeros([1]))).toThrow(/must be synchronous/);
    expect(torch.liveTensors()).toBe(before);
  });
});

describe('long-running loops', () => {
  const MB = 1024 * 1024;

  /**
   * RSS growth over the iterations after a warm-up, in MB, and the part of it that is not V8's own heap
   * growing (its young generation grows to a steady size over the first tens of thousands of iterations).
   * The warm-up is as long as the measured run: freed memory stays in the process (native/cpu_cache.cc and
   * glibc's heap keep it for reuse), so the first run's peak stays resident and only growth beyond it would be a leak.
   */
  function growthOver(iterations: number, body: () => void): { rss: number; native: number } {
    for (let i = 0; i < iterations; i++) body();
    gc();
    const rss = process.memoryUsage().rss;
    const heap = getHeapStatistics().total_physical_size;
    for (let i = 0; i < iterations; i++) body();
    gc();
    const rssGrowth = (process.memoryUsage().rss - rss) / MB;
    return { rss: rssGrowth, native: rssGrowth - (getHeapStatistics().total_physical_size - heap) / MB };
  }

  test('10,000 create-compute-dispose iterations keep RSS flat and free every tensor', () => {
    const before = torch.liveTensors();
    const growth = growthOver(10_000, () => {
      const a = torch.randn([64, 64]);
      const b = torch.ones([64]);
      const c = a.add(b);
      const d = c.matmul(a);
      const s = d.sum();
      s.item();
      for (const t of [a, b, c, d, s]) t.dispose();
    });
    expect(torch.liveTensors()).toBe(before);
    expect(growth.rss).toBeLessThan(30);
    expect(growth.native).toBeLessThan(10);
  });

  test('10,000 scoped forward/backward iterations keep RSS flat and free every tensor', () => {
    const before = torch.liveTensors();
    const weight = torch.randn([32, 32], { requiresGrad: true });
    const growth = growthOver(10_000, () =>
      torch.scope(() => {
        const x = torch.randn([8, 32]);
        const loss = torch.F.linear(x, weight).relu().pow(2).mean();
        loss.backward();
        torch.noGrad(() => weight.sub_((weight.grad as Tensor).mul(1e-3)));
        weight.grad = null;
      }),
    );
    weight.dispose();
    expect(torch.liveTensors()).toBe(before);
    expect(growth.rss).toBeLessThan(30);
    expect(growth.native).toBeLessThan(10);
  });
});
