// The preallocated KV cache: written in place, grown (by doubling) past its capacity without changing what it
// holds, rows selected, everything freed.
import { describe, expect, it } from 'vitest';
import { models, torch } from '../../lib/index.js';

/** One step's keys or values (B, heads, S, hd) with distinct entries. */
function chunk(batch: number, length: number, offset: number): torch.Tensor {
  return torch.arange(offset, offset + batch * 2 * length * 3, 1, { dtype: 'float32' }).view(batch, 2, length, 3);
}

describe('KVCache', () => {
  it('returns every step so far, in order, also after growing past its initial capacity', () => {
    const cache = new models.KVCache({ capacity: 3 });
    const steps = [4, 1, 1, 1, 2, 1].map((length, i) => [chunk(2, length, 1000 * i), chunk(2, length, -1000 * i - 1)]);
    const capacities: number[] = [];
    steps.forEach(([k, v], i) => {
      const [keys, values] = cache.update(0, k, v);
      const expectedKeys = torch.cat(steps.slice(0, i + 1).map(([sk]) => sk), 2);
      const expectedValues = torch.cat(steps.slice(0, i + 1).map(([, sv]) => sv), 2);
      expect(keys.toList()).toEqual(expectedKeys.toList());
      expect(values.toList()).toEqual(expectedValues.toList());
      capacities.push(cache.capacity);
      expectedKeys.dispose();
      expectedValues.dispose();
    });
    expect(cache.length).toBe(10);
    expect(capacities).toEqual([4, 8, 8, 8, 16, 16]); // grown to fit the prompt, then doubled when full
    for (const [k, v] of steps) [k, v].forEach((t) => t.dispose());
    cache.dispose();
    expect(cache.length).toBe(0);
  });

  it('keeps layers apart and selects batch rows', () => {
    const cache = new models.KVCache({ capacity: 8 });
    const [k0, v0, k1, v1] = [chunk(3, 2, 0), chunk(3, 2, 100), chunk(3, 2, 200), chunk(3, 2, 300)];
    cache.update(0, k0, v0);
    cache.update(1, k1, v1);
    const rows = torch.tensor([2, 0], { dtype: 'int64' });
    cache.selectRows(rows);
    const [k, v] = [chunk(2, 1, 900), chunk(2, 1, 950)];
    const [keys] = cache.update(1, k, v);
    const expected = torch.cat([k1.indexSelect(0, rows), k], 2);
    expect(keys.toList()).toEqual(expected.toList());
    expect(cache.length).toBe(2); // layer 0's
    for (const t of [k0, v0, k1, v1, rows, k, v, expected]) t.dispose();
    cache.dispose();
  });

  it('frees its buffers and the views it handed out', () => {
    const before = torch.liveTensors();
    const cache = new models.KVCache({ capacity: 2 });
    for (let i = 0; i < 5; i++) torch.scope(() => void cache.update(0, chunk(1, 1, i), chunk(1, 1, -i)));
    cache.dispose();
    expect(torch.liveTensors()).toBe(before);
  });

  it('rejects a step whose batch or heads differ from what it holds, and a bad capacity', () => {
    const cache = new models.KVCache();
    torch.scope(() => {
      cache.update(0, chunk(2, 1, 0), chunk(2, 1, 0));
      expect(() => cache.update(0, chunk(3, 1, 0), chunk(3, 1, 0))).toThrow(/layer 0 holds keys \[2, 2, 256, 3\], got a step of \[3, 2, 1, 3\]/);
    });
    cache.dispose();
    expect(() => new models.KVCache({ capacity: 0 })).toThrow(/capacity must be a positive integer/);
  });
});
