// Loading files the reference wrote: every dtype bit-exact, scalars, empty tensors, metadata; and
// clear SafetensorsErrors for files that are truncated, corrupt, missing or of dtypes we cannot hold.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { safetensors, SafetensorsError, torch } from '../../lib/index.js';
import { craftedBytes, disposeAll, hexBytes, expectNoLeakedTensors, useTempFolder, written, writtenBytes, writtenPath } from './fixtures.js';

expectNoLeakedTensors();
const temp = useTempFolder();

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(temp.dir, name);
  writeFileSync(path, bytes);
  return path;
}

function expectMatchesFixture(name: string, tensors: Record<string, torch.Tensor>): void {
  const expected = written[name].tensors;
  expect(Object.keys(tensors).sort()).toEqual(expected.map((t) => t.name).sort());
  for (const t of expected) {
    const loaded = tensors[t.name];
    expect(loaded.dtype, t.name).toBe(t.dtype);
    expect(loaded.shape, t.name).toEqual(t.shape);
    expect(loaded.device).toBe('cpu');
    expect(Buffer.from(loaded.toBytes()).toString('hex'), t.name).toBe(t.hex);
  }
}

const LOADERS = {
  load: (name: string) => safetensors.load(writtenPath(name)),
  loadSync: async (name: string) => safetensors.loadSync(writtenPath(name)),
  loadWithMetadata: async (name: string) => (await safetensors.loadWithMetadata(writtenPath(name))).tensors,
  deserialize: async (name: string) => safetensors.deserialize(writtenBytes(name)).tensors,
};

describe.each(Object.entries(LOADERS))('%s', (_loader, loadTensors) => {
  test.each(Object.keys(written))('reads %s bit-exactly', async (name) => {
    const tensors = await loadTensors(name);
    try {
      expectMatchesFixture(name, tensors);
    } finally {
      disposeAll(tensors);
    }
  });
});

describe('load', () => {
  test('keeps NaN payloads, signed zeros, infinities and subnormals of every float dtype', async () => {
    const tensors = await safetensors.load(writtenPath('all_dtypes'));
    try {
      const f32 = tensors.f32.toArray() as Float32Array;
      expect(Object.is(f32[1], -0)).toBe(true);
      expect(f32[6]).toBe(Infinity);
      expect(new Uint32Array(f32.buffer)[11]).toBe(0x7fc00001);
      expect(tensors.bool.toList()).toEqual([[true, false], [false, true], [true, true]]);
      expect([...(tensors.i64.toArray() as BigInt64Array)]).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n, 42n]);
    } finally {
      disposeAll(tensors);
    }
  });

  test('reads rank-0 scalars and empty tensors', async () => {
    const tensors = await safetensors.load(writtenPath('scalars_and_empty'));
    try {
      expect(tensors.scalar_f32.shape).toEqual([]);
      expect(tensors.scalar_f32.item()).toBe(3.5);
      expect(tensors.scalar_i64.item()).toBe(-(2 ** 40));
      expect(tensors.scalar_bool.itemBool()).toBe(true);
      expect(tensors.empty_2d_f16.shape).toEqual([2, 0, 3]);
      expect(tensors.empty_2d_f16.numel()).toBe(0);
    } finally {
      disposeAll(tensors);
    }
  });

  test('returns the tensors in file order and the metadata', async () => {
    const { tensors, metadata } = await safetensors.loadWithMetadata(writtenPath('peft_like'));
    try {
      expect(metadata).toEqual({ format: 'pt' });
      const header = await safetensors.readHeader(writtenPath('peft_like'));
      expect(Object.keys(tensors)).toEqual(header.tensors.map((t) => t.name));
    } finally {
      disposeAll(tensors);
    }
  });

  test('readHeader and readHeaderSync describe a file without reading its tensors', async () => {
    const header = await safetensors.readHeader(writtenPath('all_dtypes'));
    expect(safetensors.readHeaderSync(writtenPath('all_dtypes'))).toEqual(header);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors.find((t) => t.name === 'bf16')).toEqual({ name: 'bf16', dtype: 'BF16', shape: [12], dataOffsets: expect.any(Array) });
    expect(header.dataStart + header.dataLength).toBe(writtenBytes('all_dtypes').length);
  });

  test('a tensor name "__proto__" becomes an ordinary key', async () => {
    const path = join(temp.dir, 'proto.safetensors');
    const t = torch.tensor([1, 2], { dtype: 'float32' });
    const tensors = Object.fromEntries([['__proto__', t]]) as Record<string, torch.Tensor>;
    await safetensors.save(path, tensors);
    t.dispose();
    const loaded = await safetensors.load(path);
    expect(Object.keys(loaded)).toEqual(['__proto__']);
    expect((Object.getOwnPropertyDescriptor(loaded, '__proto__')?.value as torch.Tensor).toList()).toEqual([1, 2]);
    disposeAll(loaded);
  });
});

describe('load rejects bad files with SafetensorsError', () => {
  test('a truncated file names the file and the rule', async () => {
    const full = writtenBytes('all_dtypes');
    for (const [length, rule] of [[0, /header too small/], [5, /header too small/], [40, /invalid header length/], [full.length - 1, /incomplete metadata, file not fully covered/]] as const) {
      const path = writeTemp(`truncated-${length}.safetensors`, full.subarray(0, length));
      await expect(safetensors.load(path)).rejects.toThrow(SafetensorsError);
      await expect(safetensors.load(path)).rejects.toThrow(new RegExp(`^${path}: ${rule.source}`));
      expect(() => safetensors.loadSync(path)).toThrow(rule);
    }
  });

  test('a corrupt header', async () => {
    const path = writeTemp('offsets.safetensors', craftedBytes('offsets_overlap'));
    await expect(safetensors.load(path)).rejects.toThrow(/invalid offset for tensor "b"/);
  });

  test('a header over a lowered maxHeaderBytes', async () => {
    await expect(safetensors.load(writtenPath('peft_like'), { maxHeaderBytes: 64 })).rejects.toThrow(/header too large: .* the limit is 64/);
  });

  test('a valid file with a dtype node-peft has no tensors for', async () => {
    for (const [name, dtype] of [['u16_dtype', 'U16'], ['f8_dtype', 'F8_E4M3'], ['c64_dtype', 'C64'], ['f4_even', 'F4']]) {
      const path = writeTemp(`${name}.safetensors`, craftedBytes(name));
      await expect(safetensors.load(path)).rejects.toThrow(`tensor "a" has dtype ${dtype}, which node-peft cannot load`);
      expect((await safetensors.readHeader(path)).tensors[0].dtype).toBe(dtype);
    }
  });

  test('a missing file', async () => {
    await expect(safetensors.load(join(temp.dir, 'absent.safetensors'))).rejects.toThrow(/ENOENT/);
  });

  test('a path that is not a string', async () => {
    await expect(safetensors.load(42 as unknown as string)).rejects.toThrow(/path: expected a file path string, got 42/);
  });
});

describe('deserialize', () => {
  test('copies tensors out of the buffer and reports the metadata', () => {
    const bytes = writtenBytes('scalars_and_empty');
    const { tensors, metadata } = safetensors.deserialize(bytes);
    try {
      bytes.fill(0);
      expect(metadata).toEqual({ format: 'pt' });
      expect(Buffer.from(tensors.scalar_f64.toBytes())).toEqual(Buffer.from(hexBytes(written.scalars_and_empty.tensors[1].hex)));
    } finally {
      disposeAll(tensors);
    }
  });

  test('names its source in errors', () => {
    expect(() => safetensors.deserialize(craftedBytes('trailing_bytes'), { source: 'upload.safetensors' })).toThrow(
      /^upload\.safetensors: incomplete metadata/,
    );
  });
});
