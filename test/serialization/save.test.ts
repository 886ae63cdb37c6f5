// Saving: byte-identical to safetensors 0.8.0 for the same tensors and metadata, atomic (a failure
// midway leaves the old file untouched and no temporary file), and refusing tensors that share memory.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { safetensors, SafetensorsError, torch } from '../../lib/index.js';
import { disposeAll, expectNoLeakedTensors, useTempFolder, written, writtenBytes, writtenTensors } from './fixtures.js';

expectNoLeakedTensors();
const temp = useTempFolder();

const REPRODUCIBLE = Object.keys(written).filter((name) => name !== 'multi_key_metadata');

const SAVERS = {
  save: (path: string, t: Record<string, torch.Tensor>, m: Record<string, string> | null) => safetensors.save(path, t, m),
  saveSync: async (path: string, t: Record<string, torch.Tensor>, m: Record<string, string> | null) => safetensors.saveSync(path, t, m),
  serialize: async (path: string, t: Record<string, torch.Tensor>, m: Record<string, string> | null) => writeFileSync(path, safetensors.serialize(t, m)),
};

describe.each(Object.entries(SAVERS))('%s', (saver, write) => {
  test.each(REPRODUCIBLE)('writes %s byte-identical to the reference writer', async (name) => {
    const tensors = writtenTensors(name);
    const path = join(temp.dir, `${saver}-${name}.safetensors`);
    try {
      await write(path, tensors, written[name].metadata);
    } finally {
      disposeAll(tensors);
    }
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(writtenBytes(name)))).toBe(true);
  });
});

describe('save', () => {
  test('multi-key metadata (which the reference orders by hash) round-trips', async () => {
    const tensors = writtenTensors('multi_key_metadata');
    const path = join(temp.dir, 'multi.safetensors');
    await safetensors.save(path, tensors, written.multi_key_metadata.metadata);
    disposeAll(tensors);
    const loaded = await safetensors.loadWithMetadata(path);
    expect(loaded.metadata).toEqual(written.multi_key_metadata.metadata);
    expect(readFileSync(path).length).toBe(writtenBytes('multi_key_metadata').length);
    disposeAll(loaded.tensors);
  });

  test('writes non-contiguous tensors as their row-major elements', async () => {
    const path = join(temp.dir, 'transposed.safetensors');
    const t = torch.scope(() => torch.arange(0, 6, 1, { dtype: 'float32' }).reshape(2, 3).transpose(0, 1));
    expect(t.isContiguous()).toBe(false);
    await safetensors.save(path, { t });
    t.dispose();
    const loaded = (await safetensors.load(path)).t;
    expect(loaded.shape).toEqual([3, 2]);
    expect(loaded.toList()).toEqual([[0, 3], [1, 4], [2, 5]]);
    loaded.dispose();
  });

  test('overwrites an existing file and leaves no temporary file behind', async () => {
    const path = join(temp.dir, 'overwrite.safetensors');
    writeFileSync(path, 'old contents');
    const t = torch.tensor([1, 2, 3], { dtype: 'int64' });
    await safetensors.save(path, { t });
    safetensors.saveSync(path, { t });
    t.dispose();
    expect(readFileSync(path).subarray(0, 8).readBigUInt64LE()).toBeGreaterThan(0n);
    expect(readdirSync(temp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('refuses tensors that share memory, as the reference writer does', () => {
    torch.scope(() => {
      const base = torch.arange(0, 10, 1, { dtype: 'float32' });
      const call = (tensors: Record<string, torch.Tensor>) => () => safetensors.serialize(tensors);
      expect(call({ a: base, b: base })).toThrow(/tensors "a" and "b" share memory/);
      expect(call({ whole: base, part: base.narrow(0, 2, 3) })).toThrow(/tensors "whole" and "part" share memory/);
      expect(call({ left: base.narrow(0, 0, 6), right: base.narrow(0, 4, 6) })).toThrow(SafetensorsError);
      expect(call({ strided: base.reshape(2, 5).transpose(0, 1), inner: base.narrow(0, 3, 1) })).toThrow(/share memory/);
    });
  });

  test('accepts views of one storage that do not overlap, and empty views', () => {
    torch.scope(() => {
      const base = torch.arange(0, 10, 1, { dtype: 'float32' });
      const bytes = safetensors.serialize({ left: base.narrow(0, 0, 5), right: base.narrow(0, 5, 5), empty: base.narrow(0, 2, 0) });
      const { tensors } = safetensors.deserialize(bytes);
      expect(tensors.right.toList()).toEqual([5, 6, 7, 8, 9]);
      disposeAll(tensors);
    });
  });

  test.each([
    ['a value that is not a Tensor', { a: [1, 2] }, /tensors\["a"\]: expected a Tensor, got object/],
    ['a disposed tensor', 'disposed', /tensors\["t"\]: the tensor was disposed/],
    ['an array instead of an object', [], /tensors: expected an object of named Tensors, got an array/],
  ] as const)('refuses %s before creating any file', async (_what, tensors, message) => {
    const path = join(temp.dir, 'refused.safetensors');
    let given: unknown = tensors;
    if (tensors === 'disposed') {
      const t = torch.zeros([2]);
      t.dispose();
      given = { t };
    }
    await expect(safetensors.save(path, given as Record<string, torch.Tensor>)).rejects.toThrow(message);
    expect(readdirSync(temp.dir)).not.toContain('refused.safetensors');
  });
});

describe('a save that fails midway', () => {
  /** Runs `fn` with this process's file-size limit lowered; Node ignores SIGXFSZ, so writes past it fail with EFBIG. */
  async function withFileSizeLimit(bytes: number, fn: () => Promise<void>): Promise<void> {
    execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${bytes}:`]);
    try {
      await fn();
    } finally {
      execFileSync('prlimit', ['--pid', String(process.pid), '--fsize=unlimited:']);
    }
  }

  test.each(['save', 'saveSync'] as const)('%s leaves the old file intact and removes its temporary file', async (saver) => {
    const path = join(temp.dir, `midway-${saver}.safetensors`);
    const old = torch.tensor([7, 8, 9], { dtype: 'int32' });
    await safetensors.save(path, { old });
    old.dispose();
    const before = readFileSync(path);
    const big = { a: torch.zeros([64 * 1024]), b: torch.ones([64 * 1024]) };
    try {
      await withFileSizeLimit(300 * 1024, async () => {
        const attempt = saver === 'save' ? safetensors.save(path, big) : Promise.resolve().then(() => safetensors.saveSync(path, big));
        await expect(attempt).rejects.toThrow(/File too large|EFBIG/);
      });
    } finally {
      disposeAll(big);
    }
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(temp.dir).filter((f) => f.includes(`midway-${saver}`))).toEqual([`midway-${saver}.safetensors`]);
  });
});
