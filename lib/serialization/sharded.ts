// Sharded checkpoints as Hugging Face writes them: `<name>-0000K-of-0000N.safetensors` files and a
// `<name>.safetensors.index.json` whose weight_map says which file holds each tensor.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SafetensorsError } from '../errors.js';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import { readTensorsFromFile } from '../tensor/file-io.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeTextFileAtomic } from './atomic-write.js';
import { load, type LoadOptions, readHeader } from './load.js';
import { save } from './save.js';
import { loadableDtype, type TensorMap } from './tensors.js';
import { type JsonValue, pythonJsonDumps } from './python-json.js';

export interface ShardIndex {
  metadata: Record<string, unknown>;
  /** Tensor name -> shard file name (in the index's folder). */
  weight_map: Record<string, string>;
}

export interface SaveShardedOptions {
  /** Largest sum of tensor bytes per shard (default 50 GB, as transformers 5); a larger tensor gets a shard of its own. */
  maxShardBytes?: number;
  /** File name stem (default "model": model.safetensors, or model-00001-of-00002.safetensors + model.safetensors.index.json). */
  name?: string;
  /** `__metadata__` written into every shard. */
  metadata?: Record<string, string> | null;
  /** More entries for the index's metadata, next to total_size (transformers adds total_parameters). */
  indexMetadata?: Record<string, unknown>;
}

/** Reads and checks an index file: an object with a weight_map of names to plain file names. */
export async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new SafetensorsError(`${indexPath}: not a JSON shard index (${(error as Error).message})`);
  }
  const index = parsed as Partial<ShardIndex> | null;
  const weightMap = index?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError(`${indexPath}: expected an object with a "weight_map" object`);
  }
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || file !== basename(file) || file === '..' || file === '.' || file === '') {
      throw new SafetensorsError(`${indexPath}: weight_map[${JSON.stringify(name)}] must be a file name in the index's folder, got ${JSON.stringify(file)}`);
    }
  }
  const metadata = typeof index?.metadata === 'object' && index.metadata !== null ? index.metadata : {};
  return { metadata, weight_map: weightMap };
}

/** Loads every tensor the index names, each from its shard (tensors a shard holds but the index omits are skipped). */
export async function loadSharded(indexPath: string, options: LoadOptions = {}): Promise<TensorMap> {
  const index = await readShardIndex(indexPath);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(index.weight_map)) byFile.set(file, [...(byFile.get(file) ?? []), name]);
  const loaded: [string, Tensor][] = [];
  try {
    for (const [file, names] of byFile) {
      const path = join(dirname(indexPath), file);
      const header = await readHeader(path, options);
      const infos = new Map(header.tensors.map((info) => [info.name, info]));
      const wanted = names.map((name) => {
        const info = infos.get(name);
        if (info === undefined) throw new SafetensorsError(`${indexPath}: weight_map puts ${JSON.stringify(name)} in ${file}, which has no such tensor`);
        return info;
      });
      const specs = wanted.map((info) => ({ begin: info.dataOffsets[0], dtype: loadableDtype(info, path), shape: info.shape }));
      const tensors = await readTensorsFromFile(path, header.dataStart, specs);
      wanted.forEach((info, k) => loaded.push([info.name, tensors[k]]));
    }
    const device = options.device ?? 'cpu';
    if (device !== 'cpu') {
      for (const entry of loaded) {
        const moved = entry[1].to(device);
        entry[1].dispose();
        entry[1] = moved;
      }
    }
  } catch (error) {
    for (const [, t] of loaded) t.dispose();
    throw error;
  }
  return Object.fromEntries(loaded);
}

/** Loads `<name>.safetensors` from a folder, or the sharded checkpoint its `<name>.safetensors.index.json` describes. */
export async function loadCheckpoint(folder: string, options: LoadOptions & { name?: string } = {}): Promise<TensorMap> {
  const name = options.name ?? 'model';
  const single = join(folder, `${name}.safetensors`);
  const index = join(folder, `${name}.safetensors.index.json`);
  if (existsSync(single)) return load(single, options);
  if (existsSync(index)) return loadSharded(index, options);
  throw new SafetensorsError(`${folder}: neither ${name}.safetensors nor ${name}.safetensors.index.json exists`);
}

function shardNameFor(name: string, k: number, count: number): string {
  return `${name}-${String(k + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/** Splits tensors into shards in order, as huggingface_hub does: a new shard when the next tensor would pass the limit. */
export function planShards(tensors: TensorMap, maxShardBytes: number): string[][] {
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes < 1) throw new SafetensorsError(`maxShardBytes: expected a positive integer, got ${maxShardBytes}`);
  const shards: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.numel() * BYTES_PER_ELEMENT[t.dtype];
    if (bytes > maxShardBytes) {
      shards.push([name]);
      continue;
    }
    if (size + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(name);
    size += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/** The index JSON as transformers writes it (json.dumps with sort_keys, indent=2, ASCII only, final newline). */
export function formatShardIndex(index: ShardIndex): string {
  return `${pythonJsonDumps(index as unknown as JsonValue)}\n`;
}

/** Saves tensors into `folder` (created if absent) as one file, or as shards plus an index when they exceed
 *  maxShardBytes. Returns the file names written. Files of an earlier save with the same name that this one does
 *  not use (old shards, the index, or the single file) are removed, so the folder holds one checkpoint. */
export async function saveSharded(folder: string, tensors: TensorMap, options: SaveShardedOptions = {}): Promise<string[]> {
  const name = options.name ?? 'model';
  const shards = planShards(tensors, options.maxShardBytes ?? 50_000_000_000);
  const singleName = `${name}.safetensors`;
  const indexName = `${name}.safetensors.index.json`;
  const files = shards.length === 1 ? [singleName] : shards.map((_, k) => shardNameFor(name, k, shards.length));
  await mkdir(folder, { recursive: true });
  for (const [k, names] of shards.entries()) {
    await save(join(folder, files[k]), Object.fromEntries(names.map((n) => [n, tensors[n]])), options.metadata);
  }
  if (shards.length > 1) {
    const weightMap = Object.fromEntries(shards.flatMap((names, k) => names.map((n) => [n, files[k]])));
    const totalSize = Object.values(tensors).reduce((sum, t) => sum + t.numel() * BYTES_PER_ELEMENT[t.dtype], 0);
    const metadata = { ...options.indexMetadata, total_size: totalSize };
    await writeTextFileAtomic(join(folder, indexName), formatShardIndex({ metadata, weight_map: weightMap }));
  }
  const written = shards.length > 1 ? [...files, indexName] : files;
  const shardPattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{5}-of-\\d{5}\\.safetensors$`);
  for (const entry of await readdir(folder)) {
    const ours = shardPattern.test(entry) || entry === indexName || entry === singleName;
    if (ours && !written.includes(entry)) await unlink(join(folder, entry));
  }
  return written;
}
