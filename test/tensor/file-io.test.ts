// Native file I/O: tensors written from and read into their own memory, on one or several threads.
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { torch, TorchError } from '../../lib/index.js';
import { memoryRange, readTensorsFromFile, readTensorsFromFileSync, writeTensorsToFile, writeTensorsToFileSync } from '../../lib/tensor/file-io.js';

let liveAtStart = 0;
beforeEach(() => {
  liveAtStart = torch.liveTensors();
});
afterEach(() => {
  expect(torch.liveTensors(), 'tensors left alive by the test').toBe(liveAtStart);
});

const dir = mkdtempSync(join(tmpdir(), 'node-peft-file-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeTensorsToFile / readTensorsFromFile', () => {
  test('round-trip several tensors at an offset, sync and async', async () => {
    const path = join(dir, 'small.bin');
    const a = torch.tensor([1.5, -2, 3], { dtype: 'float64' });
    const b = torch.tensor([[1, 2], [3, 4]], { dtype: 'int16' });
    const fd = openSync(path, 'w');
    expect(writeTensorsToFileSync(fd, 5, [a])).toBe(5 + 24);
    expect(await writeTensorsToFile(fd, 29, [b])).toBe(29 + 8);
    closeSync(fd);
    expect(readFileSync(path).length).toBe(37);
    const specs = [{ begin: 0, dtype: 'float64' as const, shape: [3] }, { begin: 24, dtype: 'int16' as const, shape: [2, 2] }];
    for (const read of [readTensorsFromFileSync(path, 5, specs), await readTensorsFromFile(path, 5, specs)]) {
      expect(read.map((t) => t.toList())).toEqual([[1.5, -2, 3], [[1, 2], [3, 4]]]);
      for (const t of read) t.dispose();
    }
    a.dispose();
    b.dispose();
  });

  test('large reads, split into chunks over several threads, land in the right places', async () => {
    const path = join(dir, 'large.bin');
    const n = 5 * 1024 * 1024; // 20 MiB of int32 per tensor, 60 MiB in all
    const tensors = [0, 1, 2].map((k) => torch.arange(k * n, (k + 1) * n, 1, { dtype: 'int32' }));
    const fd = openSync(path, 'w');
    await writeTensorsToFile(fd, 3, tensors);
    closeSync(fd);
    const specs = [0, 1, 2].map((k) => ({ begin: k * 4 * n, dtype: 'int32' as const, shape: [n] }));
    const read = await readTensorsFromFile(path, 3, specs);
    for (let k = 0; k < 3; k++) expect(read[k].equal(tensors[k])).toBe(true);
    for (const t of [...tensors, ...read]) t.dispose();
  });

  test('a read past the end of the file is a TorchError, and nothing leaks', async () => {
    const path = join(dir, 'short.bin');
    writeFileSync(path, new Uint8Array(40 * 1024 * 1024));
    const specs = [{ begin: 0, dtype: 'uint8' as const, shape: [30 * 1024 * 1024] }, { begin: 30 * 1024 * 1024, dtype: 'uint8' as const, shape: [20 * 1024 * 1024] }];
    await expect(readTensorsFromFile(path, 0, specs)).rejects.toThrow(TorchError);
    await expect(readTensorsFromFile(path, 0, specs)).rejects.toThrow(/unexpected end of file/);
    expect(() => readTensorsFromFileSync(join(dir, 'absent.bin'), 0, [])).toThrow(/cannot open .*absent\.bin/);
  });
});

describe('memoryRange', () => {
  test('spans the elements a view can reach', () => {
    torch.scope(() => {
      const base = torch.zeros([4, 5]);
      const whole = memoryRange(base);
      expect(whole.end - whole.start).toBe(80);
      const column = memoryRange(base.select(1, 2));
      expect(column.start).toBe(whole.start + 8);
      expect(column.end).toBe(whole.start + (3 * 5 + 2 + 1) * 4);
      const empty = memoryRange(base.narrow(0, 1, 0));
      expect(empty.end).toBe(empty.start);
    });
  });
});
