// The caching CPU allocator: freed blocks of 128 KiB and more are kept, joined with free neighbours and split to
// serve later requests, smaller ones are left to malloc, and the cache can be emptied. Its switch and cap: libtorch-loading.test.ts.
import { describe, expect, test } from 'vitest';
import { torch } from '../../lib/index.js';

const MiB = 1024 * 1024;

function stats(): torch.CpuCacheStats {
  const s = torch.cpuCacheStats();
  if (s === null) throw new Error('the CPU cache is off in the test process (NODE_PEFT_CPU_CACHE=0?)');
  return s;
}

describe('the CPU tensor cache', () => {
  test('a freed 1 MiB block serves the next request of that size', () => {
    torch.zeros([MiB / 4]).dispose(); // make sure a block of this size is cached
    const before = stats();
    const t = torch.ones([MiB / 4]);
    const during = stats();
    expect(during.hits).toBe(before.hits + 1);
    expect(during.misses).toBe(before.misses);
    expect(during.liveBytes).toBeGreaterThanOrEqual(before.liveBytes + MiB);
    expect(t.sum().item()).toBe(MiB / 4); // reused memory is initialised like any other
    t.dispose();
    expect(stats().cachedBytes).toBeGreaterThanOrEqual(MiB);
  });

  test('a larger free block is split: the request takes what it needs and the rest stays cached', () => {
    torch.emptyCpuCache();
    torch.zeros([MiB]).dispose(); // one 4 MiB block is cached
    const before = stats();
    const quarter = torch.zeros([MiB / 4]); // 1 MiB
    const during = stats();
    expect([during.hits, during.misses]).toEqual([before.hits + 1, before.misses]);
    expect(during.cachedBytes).toBe(3 * MiB);
    expect(during.liveBytes).toBe(before.liveBytes + MiB);
    quarter.dispose();
    expect(stats().cachedBytes).toBe(4 * MiB);
  });

  test('neighbours freed apart are joined: their memory serves one larger request', () => {
    torch.emptyCpuCache();
    torch.zeros([MiB]).dispose(); // a 4 MiB mapping, cached
    const parts = [0, 1, 2, 3].map(() => torch.zeros([MiB / 4])); // split into four 1 MiB blocks
    for (const t of parts) t.dispose();
    const before = stats();
    const whole = torch.ones([MiB]);
    expect([stats().hits, stats().misses]).toEqual([before.hits + 1, before.misses]);
    expect(whole.sum().item()).toBe(MiB);
    whole.dispose();
  });

  test('blocks under 128 KiB are left to malloc', () => {
    const before = stats();
    torch.zeros([1000]).dispose();
    const after = stats();
    expect([after.hits, after.misses]).toEqual([before.hits, before.misses]);
  });

  test('emptyCpuCache gives every cached block back and leaves tensors in use alone', () => {
    const kept = torch.full([MiB / 4], 3);
    torch.zeros([MiB / 2]).dispose();
    expect(stats().cachedBytes).toBeGreaterThanOrEqual(2 * MiB);
    const released = torch.emptyCpuCache();
    expect(released).toBeGreaterThanOrEqual(2 * MiB);
    expect(stats().cachedBytes).toBe(0);
    expect(kept.mean().item()).toBe(3);
    kept.dispose();
  });

  test('a block the system cannot map is a TorchError naming its size, and the process carries on', () => {
    expect(() => torch.empty([2 ** 30, 2 ** 30])).toThrow(/CPU allocator: out of memory allocating 4611686018427387904 bytes/);
    expect(torch.ones([3]).sum().item()).toBe(3);
  });
});
