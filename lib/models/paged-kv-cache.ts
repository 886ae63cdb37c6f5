// A paged key/value cache for continuous batching: every layer's keys and values live in one pool of
// fixed-size blocks; each sequence owns a block table (its KV slot) that grows as it does. A forward over a
// batch of sequences, each at its own length, sees the pool through a BatchKVView: a KVCache whose update()
// writes this step's keys/values into the rows' blocks and returns them gathered and left-padded to a common
// length, so the models' ordinary attention (causal mask + a 2-D padding mask) runs unchanged.
import { TorchError } from '../errors.js';
import '../tensor/ops-math.js'; // Tensor.indexCopy_
import { tensor, zeros } from '../tensor/creation.js';
import type { Device, DType } from '../tensor/dtype.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { KVCache } from './kv-cache.js';

export interface PagedKVCacheOptions {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Tokens per block (default 16). */
  blockSize?: number;
  /** Blocks in the pool; capacity = blocks · blockSize tokens over all sequences. */
  blocks: number;
  dtype?: DType;
  device?: Device;
}

/** One sequence's slot: the blocks it owns, in order, and how many of its positions hold keys/values. */
export class BlockTable {
  readonly blocks: number[] = [];
  length = 0;
}

/** Row i of a batched forward: the sequence's slot and how many new tokens it brings this step. */
export interface BatchRow {
  table: BlockTable;
  newTokens: number;
}

export class PagedKVCache implements Disposable {
  readonly blockSize: number;
  readonly layers: number;
  readonly #free: number[];
  /** Per layer: keys and values [blocks · blockSize + 1, kvHeads, headDim]; the last row takes padding writes. */
  readonly #keys: Tensor[] = [];
  readonly #values: Tensor[] = [];
  readonly #trash: number;

  constructor(options: PagedKVCacheOptions) {
    this.blockSize = options.blockSize ?? 16;
    this.layers = options.layers;
    if (!Number.isInteger(options.blocks) || options.blocks < 1) throw new TorchError(`PagedKVCache: blocks must be a positive integer, got ${options.blocks}`);
    this.#free = Array.from({ length: options.blocks }, (_, i) => options.blocks - 1 - i);
    this.#trash = options.blocks * this.blockSize;
    const shape = [this.#trash + 1, options.kvHeads, options.headDim];
    for (let layer = 0; layer < options.layers; layer++) {
      this.#keys.push(keep(zeros(shape, { dtype: options.dtype ?? 'float32', device: options.device })));
      this.#values.push(keep(zeros(shape, { dtype: options.dtype ?? 'float32', device: options.device })));
    }
  }

  /** Blocks not owned by any sequence. */
  get freeBlocks(): number {
    return this.#free.length;
  }

  get totalBlocks(): number {
    return this.#trash / this.blockSize;
  }

  /** Blocks a table needs to hold `length` positions that it does not own yet. */
  blocksNeeded(table: BlockTable, length: number): number {
    return Math.max(0, Math.ceil(length / this.blockSize) - table.blocks.length);
  }

  /** Gives the table blocks for `length` positions; false (and nothing taken) when the pool is short. */
  reserve(table: BlockTable, length: number): boolean {
    const needed = this.blocksNeeded(table, length);
    if (needed > this.#free.length) return false;
    for (let i = 0; i < needed; i++) table.blocks.push(this.#free.pop() as number);
    return true;
  }

  /** Returns the table's blocks to the pool; the table is empty afterwards. */
  release(table: BlockTable): void {
    this.#free.push(...table.blocks.reverse());
    table.blocks.length = 0;
    table.length = 0;
  }

  /** The pool row that holds position `position` of a sequence. */
  #row(table: BlockTable, position: number): number {
    const block = table.blocks[Math.floor(position / this.blockSize)];
    if (block === undefined) throw new TorchError(`PagedKVCache: position ${position} has no block reserved`);
    return block * this.blockSize + (position % this.blockSize);
  }

  /**
   * The cache one forward over these rows uses; input_ids must be [rows, chunk] with each row's new tokens at
   * the right end (left padding). Call commit() after the forward to advance the tables' lengths.
   */
  view(rows: readonly BatchRow[], chunk: number): BatchKVView {
    const total = Math.max(...rows.map((r) => r.table.length + r.newTokens));
    const write: number[] = [];
    const read: number[] = [];
    for (const { table, newTokens } of rows) {
      if (newTokens < 1 || newTokens > chunk) throw new TorchError(`PagedKVCache: a row brings ${newTokens} tokens, expected 1..${chunk}`);
      for (let c = 0; c < chunk; c++) {
        const pad = chunk - newTokens;
        write.push(c < pad ? this.#trash : this.#row(table, table.length + c - pad));
      }
      const start = total - table.length - newTokens;
      for (let p = 0; p < total; p++) read.push(p < start ? this.#trash : this.#row(table, p - start));
    }
    return new BatchKVView(this, rows, chunk, total, write, read);
  }

  /** Writes `fresh` (B, nkv, C, hd) at the write rows and returns the layer's gathered (B, nkv, T, hd) keys or values. */
  exchange(layer: number, which: 'keys' | 'values', fresh: Tensor, write: Tensor, read: Tensor, total: number): Tensor {
    const pool = (which === 'keys' ? this.#keys : this.#values)[layer];
    if (!pool) throw new TorchError(`PagedKVCache: layer ${layer} is out of range (${this.layers} layers)`);
    const [b, heads, c, dim] = fresh.shape;
    return scope(() => {
      pool.indexCopy_(0, write, fresh.transpose(1, 2).reshape(b * c, heads, dim).to(pool.dtype));
      return pool.indexSelect(0, read).view(b, total, heads, dim).transpose(1, 2).to(fresh.dtype);
    });
  }

  dispose(): void {
    for (const t of [...this.#keys, ...this.#values]) t.dispose();
    this.#keys.length = 0;
    this.#values.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * One forward's window on the pool. It is a KVCache to the models: `length` is the padded past (total − chunk),
 * so the attention mask they expect is [rows, total] (see attentionMask()).
 */
export class BatchKVView extends KVCache {
  readonly #pool: PagedKVCache;
  readonly #rows: readonly BatchRow[];
  readonly #chunk: number;
  readonly #total: number;
  readonly #write: Tensor;
  readonly #read: Tensor;
  /** Gathered keys/values handed to attention this forward, freed by dispose(). */
  readonly #handedOut: Tensor[] = [];

  constructor(pool: PagedKVCache, rows: readonly BatchRow[], chunk: number, total: number, write: number[], read: number[]) {
    super();
    this.#pool = pool;
    this.#rows = rows;
    this.#chunk = chunk;
    this.#total = total;
    this.#write = keep(tensor(write, { dtype: 'int64' }));
    this.#read = keep(tensor(read, { dtype: 'int64' }));
  }

  override get length(): number {
    return this.#total - this.#chunk;
  }

  override update(layer: number, keys: Tensor, values: Tensor): [Tensor, Tensor] {
    const k = keep(this.#pool.exchange(layer, 'keys', keys, this.#write, this.#read, this.#total));
    const v = keep(this.#pool.exchange(layer, 'values', values, this.#write, this.#read, this.#total));
    this.#handedOut.push(k, v);
    return [k, v];
  }

  override selectRows(): void {
    throw new TorchError('BatchKVView: rows are chosen per forward by PagedKVCache.view()');
  }

  /** int64 [rows, total]: 1 where a row has a key (its past and new tokens), 0 on its left padding. */
  attentionMask(): Tensor {
    const mask: number[] = [];
    for (const { table, newTokens } of this.#rows) {
      const start = this.#total - table.length - newTokens;
      for (let p = 0; p < this.#total; p++) mask.push(p < start ? 0 : 1);
    }
    return tensor(mask, { dtype: 'int64' }).view(this.#rows.length, this.#total);
  }

  /** int64 [rows, chunk]: each new token's position in its sequence (0 on padding). */
  positionIds(): Tensor {
    const ids: number[] = [];
    for (const { table, newTokens } of this.#rows) {
      const pad = this.#chunk - newTokens;
      for (let c = 0; c < this.#chunk; c++) ids.push(c < pad ? 0 : table.length + c - pad);
    }
    return tensor(ids, { dtype: 'int64' }).view(this.#rows.length, this.#chunk);
  }

  /** After the forward: the rows' new tokens are cached. */
  commit(): void {
    for (const row of this.#rows) row.table.length += row.newTokens;
  }

  override dispose(): void {
    for (const t of [this.#write, this.#read, ...this.#handedOut]) t.dispose();
    this.#handedOut.length = 0;
  }
}
