// PagedKVCache: block tables grow and return their blocks; a batch view writes each row's new keys into its
// own blocks and hands attention every row's keys left-padded to one length, with the matching mask and positions.
import { describe, expect, test } from 'vitest';
import { BlockTable, PagedKVCache } from '../../lib/models/paged-kv-cache.js';
import { tensor } from '../../lib/tensor/creation.js';
import { scope } from '../../lib/tensor/scope.js';
import { liveTensors } from '../../lib/tensor/tensor.js';

const cache = () => new PagedKVCache({ layers: 1, kvHeads: 1, headDim: 2, blockSize: 4, blocks: 6 });

/** (rows, 1 head, chunk, 2) keys whose values say which row, step and position made them: 100·row + 10·step + c. */
function fresh(rows: number, chunk: number, step: number) {
  const values = Array.from({ length: rows * chunk }, (_, i) => 100 * Math.floor(i / chunk) + 10 * step + (i % chunk)).flatMap((v) => [v, v]);
  return tensor(values, { dtype: 'float32' }).view(rows, 1, chunk, 2);
}

describe('PagedKVCache', () => {
  test('block tables take blocks as they grow and give them back', () => {
    using kv = cache();
    const a = new BlockTable();
    const b = new BlockTable();
    expect(kv.reserve(a, 9)).toBe(true); // 3 blocks of 4
    expect(kv.reserve(b, 12)).toBe(true);
    expect(kv.freeBlocks).toBe(0);
    expect(kv.reserve(a, 13)).toBe(false); // nothing taken when the pool is short
    expect(a.blocks).toHaveLength(3);
    kv.release(b);
    expect(kv.freeBlocks).toBe(3);
    expect(kv.reserve(a, 13)).toBe(true);
    expect(a.blocks).toHaveLength(4);
  });

  test('a view writes new keys into each row\'s blocks and returns all rows left-padded, with mask and positions', () => {
    using kv = cache();
    const live = liveTensors();
    const a = new BlockTable();
    const b = new BlockTable();
    kv.reserve(a, 8);
    kv.reserve(b, 8);
    scope(() => {
      // step 0: a brings 3 prompt tokens, b brings 1 (left-padded to 3)
      const first = kv.view([{ table: a, newTokens: 3 }, { table: b, newTokens: 1 }], 3);
      const k0 = fresh(2, 3, 0);
      const [keys0] = first.update(0, k0, k0);
      expect(first.length).toBe(0);
      expect(first.attentionMask().toList()).toEqual([[1, 1, 1], [0, 0, 1]]);
      expect(first.positionIds().toList()).toEqual([[0, 1, 2], [0, 0, 0]]);
      expect((keys0.toList() as number[][][][])[0][0].map((p) => p[0])).toEqual([0, 1, 2]);
      expect((keys0.toList() as number[][][][])[1][0][2][0]).toBe(102);
      first.commit();
      first.dispose();
      k0.dispose();
      expect([a.length, b.length]).toEqual([3, 1]);
      // step 1: one token each; keys are [pad..., past..., new]
      const second = kv.view([{ table: a, newTokens: 1 }, { table: b, newTokens: 1 }], 1);
      const k1 = fresh(2, 1, 1);
      const [keys1] = second.update(0, k1, k1);
      expect(second.length).toBe(3);
      expect(second.attentionMask().toList()).toEqual([[1, 1, 1, 1], [0, 0, 1, 1]]);
      expect(second.positionIds().toList()).toEqual([[3], [1]]);
      const rows = (keys1.toList() as number[][][][]).map((r) => r[0].map((p) => p[0]));
      expect(rows[0]).toEqual([0, 1, 2, 10]);
      expect(rows[1].slice(2)).toEqual([102, 110]);
      second.commit();
      second.dispose();
      k1.dispose();
    });
    expect(liveTensors()).toBe(live);
  });
});
