// A seeded, shuffling loader over named tensors that share their first dimension. Its position
// (epoch, batch within the epoch) is all a checkpoint needs to continue with the very same batches.
import { TorchError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { epochSeed, seededPermutation } from './random.js';

export type Batch = Record<string, Tensor>;

export interface DataLoaderOptions {
  batchSize: number;
  /** A new seeded order each epoch (default true). */
  shuffle?: boolean;
  /** Seed of the data order (default 0). */
  seed?: number;
  /** Drop the last batch of an epoch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Data-parallel shard: this rank takes rows rank, rank+W, rank+2W, … of each epoch's order (default 0 of 1). */
  rank?: number;
  worldSize?: number;
}

/** Where a loader is: the next batch it gives is batch `batch` of epoch `epoch`. */
export interface LoaderPosition {
  epoch: number;
  batch: number;
}

/** What the training loop and evaluate() need from a loader (DataLoader, ImageDataLoader). */
export interface BatchLoader {
  next(): Batch;
  inOrder(): Iterable<Batch>;
  readonly position: LoaderPosition;
  seek(position: LoaderPosition): void;
  /** The data-parallel shard this loader gives (absent: all the data, as rank 0 of 1). */
  readonly rank?: number;
  readonly worldSize?: number;
}

export class DataLoader implements BatchLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Rows in the data (all ranks together). */
  readonly size: number;
  readonly rank: number;
  readonly worldSize: number;
  /** Rows this rank takes per epoch (DistributedSampler's num_samples: the order is padded to a multiple of W). */
  readonly shardSize: number;
  readonly #data: Batch;
  #epoch = 0;
  #batch = 0;
  #order: number[] | null = null;

  /** data: named tensors (e.g. pixel_values, labels) with the same first dimension; the loader does not own them. */
  constructor(data: Batch, options: DataLoaderOptions) {
    const names = Object.keys(data);
    if (names.length === 0) throw new TorchError('DataLoader: data: expected at least one named tensor, got none');
    const size = data[names[0]].shape[0];
    for (const name of names) {
      if (data[name].ndim === 0 || data[name].shape[0] !== size) {
        throw new TorchError(`DataLoader: data.${name}: expected first dimension ${size} (as data.${names[0]}), got shape [${data[name].shape.join(', ')}]`);
      }
    }
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new TorchError(`DataLoader: batchSize: expected a positive integer, got ${options.batchSize}`);
    }
    if (size === 0) throw new TorchError('DataLoader: data: expected at least one row, got 0');
    this.#data = { ...data };
    this.size = size;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.worldSize = options.worldSize ?? 1;
    this.rank = options.rank ?? 0;
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1 || !Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize) {
      throw new TorchError(`DataLoader: expected 0 <= rank < worldSize, got rank ${options.rank} of ${options.worldSize}`);
    }
    this.shardSize = Math.ceil(size / this.worldSize);
    if (this.dropLast && this.shardSize < this.batchSize) {
      throw new TorchError(`DataLoader: dropLast with batchSize ${this.batchSize} leaves no batch from ${size} rows`);
    }
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.shardSize / this.batchSize) : Math.ceil(this.shardSize / this.batchSize);
  }

  get position(): LoaderPosition {
    return { epoch: this.#epoch, batch: this.#batch };
  }

  /** Continue from a saved position (the same data, batch size and seed give the same batches). */
  seek(position: LoaderPosition): void {
    const { epoch, batch } = position;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(batch) || batch < 0 || batch > this.batchesPerEpoch) {
      throw new TorchError(`DataLoader.seek: expected epoch >= 0 and batch in 0..${this.batchesPerEpoch}, got ${JSON.stringify(position)}`);
    }
    this.#epoch = epoch;
    this.#batch = batch;
    this.#order = null;
  }

  #rowsOfEpoch(): number[] {
    if (this.#order === null) {
      const order = this.shuffle ? seededPermutation(this.size, epochSeed(this.seed, this.#epoch)) : Array.from({ length: this.size }, (_, i) => i);
      this.#order = shardOf(order, this.rank, this.worldSize);
    }
    return this.#order;
  }

  /** The next batch (new tensors, the caller's to free), moving on to the next epoch when one ends. */
  next(): Batch {
    if (this.#batch >= this.batchesPerEpoch) {
      this.#epoch += 1;
      this.#batch = 0;
      this.#order = null;
    }
    const start = this.#batch * this.batchSize;
    const rows = this.#rowsOfEpoch().slice(start, start + this.batchSize);
    this.#batch += 1;
    return this.#take(rows);
  }

  /** One pass over the data in order (no shuffling), e.g. for evaluation; the position does not move. */
  *inOrder(): Generator<Batch> {
    for (let start = 0; start < this.size; start += this.batchSize) {
      const end = Math.min(start + this.batchSize, this.size);
      yield this.#take(Array.from({ length: end - start }, (_, i) => start + i));
    }
  }

  #take(rows: number[]): Batch {
    return scope(() => {
      const index = tensor(BigInt64Array.from(rows, (r) => BigInt(r)));
      const out: Batch = {};
      for (const [name, t] of Object.entries(this.#data)) out[name] = t.indexSelect(0, index);
      return out;
    });
  }
}

/**
 * Rank `rank`'s rows of an epoch's order, as torch's DistributedSampler (drop_last=False): the order is padded
 * with its own head to a multiple of W, and rank r takes positions r, r+W, r+2W, ….
 */
export function shardOf(order: readonly number[], rank: number, worldSize: number): number[] {
  if (worldSize === 1) return [...order];
  const total = Math.ceil(order.length / worldSize) * worldSize;
  const padded = [...order];
  while (padded.length < total) padded.push(...order.slice(0, total - padded.length));
  const out: number[] = [];
  for (let i = rank; i < total; i += worldSize) out.push(padded[i]);
  return out;
}
