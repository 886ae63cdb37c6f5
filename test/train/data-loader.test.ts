// The data loader: seeded shuffling, whole epochs, and positions that resume the same batches.
import { describe, expect, test } from 'vitest';
import { torch } from '../../lib/index.js';
import { DataLoader } from '../../lib/train/data-loader.js';

function rows(n: number) {
  return { x: torch.arange(n, undefined, 1, { dtype: 'float32' }).reshape(n, 1), labels: torch.arange(n) };
}
const idsOf = (batch: Record<string, torch.Tensor>): number[] => Array.from(batch.labels.toArray(), Number);

describe('DataLoader', () => {
  test('each epoch visits every row once, in a seeded order that changes between epochs', () => {
    const loader = new DataLoader(rows(10), { batchSize: 4, seed: 1 });
    expect(loader.batchesPerEpoch).toBe(3);
    const epoch = (): number[] => [loader.next(), loader.next(), loader.next()].flatMap(idsOf);
    const first = epoch();
    const second = epoch();
    expect([...first].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...second].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first).not.toEqual(second);
    expect(new DataLoader(rows(10), { batchSize: 4, seed: 1 }).next().labels.toList()).toEqual(first.slice(0, 4));
    expect(new DataLoader(rows(10), { batchSize: 4, seed: 2 }).next().labels.toList()).not.toEqual(first.slice(0, 4));
  });

  test('keeps x and labels rows together', () => {
    const batch = new DataLoader(rows(10), { batchSize: 5, seed: 3 }).next();
    expect(Array.from(batch.x.toArray(), Number)).toEqual(idsOf(batch));
  });

  test('seek(position) continues with the same batches', () => {
    const a = new DataLoader(rows(10), { batchSize: 3, seed: 4 });
    for (let i = 0; i < 5; i++) a.next();
    const position = a.position;
    expect(position).toEqual({ epoch: 1, batch: 1 });
    const b = new DataLoader(rows(10), { batchSize: 3, seed: 4 });
    b.seek(position);
    for (let i = 0; i < 6; i++) expect(idsOf(b.next())).toEqual(idsOf(a.next()));
  });

  test('dropLast drops the short batch; inOrder gives every row in order', () => {
    const loader = new DataLoader(rows(10), { batchSize: 4, dropLast: true, shuffle: false });
    expect(loader.batchesPerEpoch).toBe(2);
    expect([...loader.inOrder()].map(idsOf)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  test('argument errors name the argument', () => {
    expect(() => new DataLoader(rows(4), { batchSize: 0 })).toThrow(/batchSize: expected a positive integer, got 0/);
    expect(() => new DataLoader({ x: torch.zeros([4, 2]), labels: torch.zeros([3]) }, { batchSize: 2 })).toThrow(/data.labels: expected first dimension 4/);
    expect(() => new DataLoader(rows(4), { batchSize: 2 }).seek({ epoch: 0, batch: 9 })).toThrow(/seek/);
  });
});
