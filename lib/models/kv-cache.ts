// A key/value cache for decoder self-attention: one (keys, values) pair per layer, grown along the sequence.
import { cat } from '../tensor/ops-shape.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

export class KVCache implements Disposable {
  readonly #keys: (Tensor | null)[] = [];
  readonly #values: (Tensor | null)[] = [];

  /** Tokens already cached (the length of layer 0's keys). */
  get length(): number {
    return this.#keys[0]?.shape[2] ?? 0;
  }

  /**
   * Appends this step's keys/values (B, nkv, S, hd) for a layer and returns the whole cached sequence.
   * The cache owns what it returns (it outlives any scope); callers must not dispose it.
   */
  update(layer: number, keys: Tensor, values: Tensor): [Tensor, Tensor] {
    const oldKeys = this.#keys[layer] ?? null;
    const oldValues = this.#values[layer] ?? null;
    const k = keep(oldKeys ? cat([oldKeys, keys], 2) : keys.contiguous());
    const v = keep(oldValues ? cat([oldValues, values], 2) : values.contiguous());
    this.#keys[layer] = k;
    this.#values[layer] = v;
    oldKeys?.dispose();
    oldValues?.dispose();
    return [k, v];
  }

  /** Keeps only the given batch rows (index: int64 [n]), e.g. to drop finished sequences. */
  selectRows(index: Tensor): void {
    for (const store of [this.#keys, this.#values]) {
      store.forEach((t, i) => {
        if (!t) return;
        store[i] = keep(t.indexSelect(0, index));
        t.dispose();
      });
    }
  }

  dispose(): void {
    for (const t of [...this.#keys, ...this.#values]) t?.dispose();
    this.#keys.length = 0;
    this.#values.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
