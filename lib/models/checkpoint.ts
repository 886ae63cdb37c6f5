// Model weights on disk as Hugging Face lays them out (model.safetensors, or shards listed by
// model.safetensors.index.json; serialization/sharded.ts reads and writes both). This file converts keys between
// the checkpoint's names and the model's in-memory names, stores tied weights once, and loads strictly.
import { StateDictError, TorchError } from '../errors.js';
import { saveSharded } from '../serialization/sharded.js';
import type { TensorMap } from '../serialization/tensors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PreTrainedModel } from './base.js';

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

/** The tensors to write: checkpoint key → tensor, tied copies left out. */
function checkpointTensors(model: PreTrainedModel): TensorMap {
  const tied = new Set(model.tiedParameters().map(([name]) => name));
  return Object.fromEntries(
    Object.entries(model.stateDict())
      .filter(([name]) => !tied.has(name))
      .map(([name, tensor]) => [model.modelKeyToCheckpoint(name), tensor]),
  );
}

/** Writes the model's weights to dir as transformers does (one file, or shards plus an index with total_parameters). */
export async function writeCheckpoint(model: PreTrainedModel, dir: string, options: SaveCheckpointOptions = {}): Promise<void> {
  const max = options.maxShardSize;
  if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) {
    throw new TorchError(`savePretrained: maxShardSize must be a positive integer number of bytes, got ${max}`);
  }
  const tensors = checkpointTensors(model);
  const totalParameters = Object.values(tensors).reduce((sum, t) => sum + t.numel(), 0);
  await saveSharded(dir, tensors, {
    maxShardBytes: max,
    metadata: { format: 'pt' },
    indexMetadata: { total_parameters: totalParameters },
  });
}
