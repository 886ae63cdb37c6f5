// Model weights on disk as Hugging Face lays them out: model.safetensors, or shards listed by
// model.safetensors.index.json (`weight_map`: key → file). Keys are converted between the checkpoint's names
// and the model's in-memory names; tied weights are stored once; loading is strict.
import { existsSync, write } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StateDictError, TorchError } from '../errors.js';
import { writeFileAtomic } from '../serialization/atomic-write.js';
import { load } from '../serialization/load.js';
import { save } from '../serialization/save.js';
import type { TensorMap } from '../serialization/tensors.js';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PreTrainedModel } from './base.js';

export const WEIGHTS_NAME = 'model.safetensors';
export const WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';

/** Reads every tensor of the checkpoint in dir (single file or shards). */
export async function readCheckpoint(dir: string): Promise<TensorMap> {
  const single = join(dir, WEIGHTS_NAME);
  const index = join(dir, WEIGHTS_INDEX_NAME);
  if (existsSync(single)) return load(single);
  if (!existsSync(index)) throw new TorchError(`fromPretrained: ${dir} has neither ${WEIGHTS_NAME} nor ${WEIGHTS_INDEX_NAME}`);
  const parsed = JSON.parse(await readFile(index, 'utf8')) as { weight_map?: Record<string, string> };
  const weightMap = parsed.weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw new TorchError(`${index}: expected a "weight_map" object of key → shard file`);
  const out: TensorMap = {};
  for (const file of new Set(Object.values(weightMap))) {
    if (file.includes('/') || file.includes('\\')) throw new TorchError(`${index}: shard name ${JSON.stringify(file)} must be a file in the same folder`);
    const tensors = await load(join(dir, file));
    for (const [key, tensor] of Object.entries(tensors)) {
      if (weightMap[key] === file) out[key] = tensor;
      else tensor.dispose();
    }
  }
  const absent = Object.keys(weightMap).filter((key) => !(key in out));
  if (absent.length) throw new TorchError(`${index}: the shards lack ${absent.map((k) => `"${k}"`).join(', ')}`);
  return out;
}

/**
 * Copies a checkpoint (checkpoint key → tensor) into the model: keys converted to in-memory names, keys the model
 * computes itself ignored, tied parameters filled from their source. Strict: a missing or unexpected key or a wrong
 * shape throws StateDictError listing every problem. The checkpoint's tensors are not disposed.
 */
export function loadCheckpointInto(model: PreTrainedModel, checkpoint: TensorMap): void {
  const ignored = model.ignoredCheckpointKeys();
  const tied = new Map(model.tiedParameters());
  const byName: Record<string, Tensor> = {};
  const duplicates: string[] = [];
  for (const [key, tensor] of Object.entries(checkpoint)) {
    if (ignored.some((pattern) => pattern.test(key))) continue;
    const name = model.checkpointKeyToModel(key);
    if (tied.has(name)) continue; // the source's tensor wins, as transformers ties after loading
    if (name in byName) duplicates.push(`"${key}" and another key both name "${name}"`);
    byName[name] = tensor;
  }
  if (duplicates.length) throw new StateDictError(`Error(s) in loading the checkpoint for ${model.architecture}:\n\t${duplicates.join('\n\t')}`);
  for (const [name, source] of tied) if (byName[source]) byName[name] = byName[source];
  model.loadStateDict(byName, { strict: true });
  model.tieWeights();
}

export interface SaveCheckpointOptions {
  /** Split the weights into shards of at most this many bytes (a larger single tensor gets its own shard). */
  maxShardSize?: number;
}

/** The tensors to write: in-memory names → checkpoint keys, tied copies left out, all contiguous. */
function checkpointTensors(model: PreTrainedModel): [string, Tensor][] {
  const tied = new Set(model.tiedParameters().map(([name]) => name));
  return Object.entries(model.stateDict())
    .filter(([name]) => !tied.has(name))
    .map(([name, tensor]) => [model.modelKeyToCheckpoint(name), tensor]);
}

/** Writes the model's weights to dir as Hugging Face does (one file, or shards plus the index). */
export async function writeCheckpoint(model: PreTrainedModel, dir: string, options: SaveCheckpointOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = checkpointTensors(model);
  const bytes = (t: Tensor): number => t.numel() * BYTES_PER_ELEMENT[t.dtype];
  const limit = options.maxShardSize ?? Infinity;
  if (!(limit > 0)) throw new TorchError(`savePretrained: maxShardSize must be a positive number of bytes, got ${options.maxShardSize}`);
  const shards: [string, Tensor][][] = [[]];
  let size = 0;
  for (const entry of entries) {
    const n = bytes(entry[1]);
    if (size > 0 && size + n > limit) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(entry);
    size += n;
  }
  await rm(join(dir, shards.length === 1 ? WEIGHTS_INDEX_NAME : WEIGHTS_NAME), { force: true });
  if (shards.length === 1) {
    await saveShard(join(dir, WEIGHTS_NAME), shards[0]);
    return;
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    await saveShard(join(dir, file), shard);
    for (const [key] of shard) weightMap[key] = file;
  }
  const totalSize = entries.reduce((sum, [, t]) => sum + bytes(t), 0);
  const totalParameters = entries.reduce((sum, [, t]) => sum + t.numel(), 0);
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const index = { metadata: { total_parameters: totalParameters, total_size: totalSize }, weight_map: sorted };
  await writeJsonAtomic(join(dir, WEIGHTS_INDEX_NAME), index);
}

async function saveShard(path: string, shard: [string, Tensor][]): Promise<void> {
  const copies: Tensor[] = [];
  const tensors: TensorMap = {};
  for (const [key, t] of shard) {
    if (t.isContiguous()) {
      tensors[key] = t;
    } else {
      tensors[key] = t.contiguous();
      copies.push(tensors[key]);
    }
  }
  try {
    await save(path, tensors, { format: 'pt' });
  } finally {
    for (const t of copies) t.dispose();
  }
}

/** Writes JSON (2-space indent, trailing newline) atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await writeFileAtomic(path, async (fd) => {
    await new Promise<void>((resolve, reject) => write(fd, bytes, 0, bytes.length, 0, (error) => (error ? reject(error) : resolve())));
  });
}
