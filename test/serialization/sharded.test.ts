// Sharded checkpoints: shards split as huggingface_hub splits them, an index as transformers writes
// it, and loading through the index's weight_map.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { safetensors, SafetensorsError, torch } from '../../lib/index.js';
import { disposeAll, FIXTURES, expectNoLeakedTensors, useTempFolder } from './fixtures.js';

expectNoLeakedTensors();
const temp = useTempFolder();

/** Float32 tensors of the given element counts, each filled with its position. */
function tensorsOf(sizes: Record<string, number>): Record<string, torch.Tensor> {
  return Object.fromEntries(Object.entries(sizes).map(([name, n], k) => [name, torch.full([n], k)]));
}

function folder(name: string): string {
  const dir = join(temp.dir, name);
  mkdirSync(dir);
  return dir;
}

describe('planShards', () => {
  test('starts a new shard when the next tensor would pass the limit; an oversized tensor gets its own', () => {
    // float32: a, b, d are 24 bytes, c, e, f 8, g 4, huge 120; the limit is 40 bytes
    const tensors = tensorsOf({ a: 6, b: 6, c: 2, d: 6, e: 2, f: 2, huge: 30, g: 1 });
    try {
      expect(safetensors.planShards(tensors, 40)).toEqual([['a'], ['b', 'c'], ['huge'], ['d', 'e', 'f'], ['g']]);
      expect(safetensors.planShards({}, 40)).toEqual([[]]);
      expect(() => safetensors.planShards(tensors, 0)).toThrow(/maxShardBytes: expected a positive integer, got 0/);
    } finally {
      disposeAll(tensors);
    }
  });
});

describe('formatShardIndex', () => {
  test('formats an index exactly as transformers does (sorted by code point, indent 2, \\u escapes)', () => {
    const text = readFileSync(join(FIXTURES, 'shard_index.json'), 'utf8');
    expect(safetensors.formatShardIndex(JSON.parse(text))).toBe(text);
  });
});

describe('saveSharded and loadSharded', () => {
  test('round-trips through shards and an index in transformers format', async () => {
    const dir = folder('sharded');
    const tensors = tensorsOf({ 'layer.0.weight': 8, 'layer.0.bias': 2, 'layer.1.weight': 8, 'caf\u00e9': 1 });
    try {
      const files = await safetensors.saveSharded(dir, tensors, { maxShardBytes: 40, metadata: { format: 'pt' } });
      expect(files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      const indexText = readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8');
      expect(indexText).toBe(
        '{\n  "metadata": {\n    "total_size": 76\n  },\n  "weight_map": {\n' +
          '    "caf\\u00e9": "model-00002-of-00002.safetensors",\n' +
          '    "layer.0.bias": "model-00001-of-00002.safetensors",\n' +
          '    "layer.0.weight": "model-00001-of-00002.safetensors",\n' +
          '    "layer.1.weight": "model-00002-of-00002.safetensors"\n  }\n}\n',
      );
      expect((await safetensors.readHeader(join(dir, files[0]))).metadata).toEqual({ format: 'pt' });
      const loaded = await safetensors.loadCheckpoint(dir);
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) expect(loaded[name].toList(), name).toEqual(t.toList());
      disposeAll(loaded);
    } finally {
      disposeAll(tensors);
    }
  });

  test('one shard is a plain model.safetensors, and a later save removes shards it no longer uses', async () => {
    const dir = folder('resaved');
    const tensors = tensorsOf({ a: 8, b: 8 });
    try {
      await safetensors.saveSharded(dir, tensors, { maxShardBytes: 32 });
      expect(readdirSync(dir).sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      writeFileSync(join(dir, 'other-00001-of-00002.safetensors'), 'not ours');
      expect(await safetensors.saveSharded(dir, tensors)).toEqual(['model.safetensors']);
      expect(readdirSync(dir).sort()).toEqual(['model.safetensors', 'other-00001-of-00002.safetensors']);
      const loaded = await safetensors.loadCheckpoint(dir);
      expect(Object.keys(loaded)).toEqual(['a', 'b']);
      disposeAll(loaded);
    } finally {
      disposeAll(tensors);
    }
  });

  test('creates the folder, adds indexMetadata next to total_size, and a sharded save removes an earlier single file', async () => {
    const dir = join(temp.dir, 'new', 'nested');
    const tensors = tensorsOf({ a: 8, b: 8 });
    try {
      expect(await safetensors.saveSharded(dir, tensors)).toEqual(['model.safetensors']);
      await safetensors.saveSharded(dir, tensors, { maxShardBytes: 32, indexMetadata: { total_parameters: 16 } });
      expect(readdirSync(dir).sort()).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
      expect(index.metadata).toEqual({ total_parameters: 16, total_size: 64 });
    } finally {
      disposeAll(tensors);
    }
  });

  test('loads only what the weight_map names, and refuses a map that points at a missing tensor', async () => {
    const dir = folder('partial');
    const tensors = tensorsOf({ kept: 2, extra: 3 });
    await safetensors.save(join(dir, 'shard.safetensors'), tensors);
    disposeAll(tensors);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ metadata: {}, weight_map: { kept: 'shard.safetensors' } }));
    const loaded = await safetensors.loadSharded(join(dir, 'index.json'));
    expect(Object.keys(loaded)).toEqual(['kept']);
    disposeAll(loaded);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ weight_map: { kept: 'shard.safetensors', lost: 'shard.safetensors' } }));
    await expect(safetensors.loadSharded(join(dir, 'index.json'))).rejects.toThrow(/weight_map puts "lost" in shard\.safetensors, which has no such tensor/);
  });

  test.each([
    ['a file outside the folder', { weight_map: { a: '../x.safetensors' } }, /weight_map\["a"\] must be a file name in the index's folder, got "\.\.\/x\.safetensors"/],
    ['no weight_map', { metadata: {} }, /expected an object with a "weight_map" object/],
    ['a non-string file', { weight_map: { a: 3 } }, /weight_map\["a"\] must be a file name/],
  ])('refuses an index with %s', async (_what, index, message) => {
    const path = join(temp.dir, `bad-index-${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(index));
    await expect(safetensors.loadSharded(path)).rejects.toThrow(SafetensorsError);
    await expect(safetensors.loadSharded(path)).rejects.toThrow(message);
  });

  test('loadCheckpoint names what it looked for', async () => {
    await expect(safetensors.loadCheckpoint(temp.dir, { name: 'nothing' })).rejects.toThrow(/neither nothing\.safetensors nor nothing\.safetensors\.index\.json exists/);
  });
});
