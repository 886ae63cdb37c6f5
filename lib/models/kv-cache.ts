// A key/value cache for decoder self-attention: per layer, keys and values (B, nkv, capacity, hd) allocated once
// (capacity: the tokens the caller expects, e.g. prompt + maxNewTokens) and written in place step by step; it
// grows (doubling, one copy) only when a sequence outruns it. update() hands attention views of the filled part.
import { TorchError } from '../errors.js';
import { empty } from '../tensor/creation.js';
import '../tensor/ops-math.js'; // Tensor.copy_
import '../tensor/ops-shape.js'; // Tensor.narrow, indexSelect
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

export interface KVCacheOptions {
  /** Tokens to make room for at the first update (default 256); more grows the buffers (a copy each doubling). */
  capacity?: number;
}

/** One layer's buffers, how many positions hold keys/values, and the views of them last handed out. */
interface LayerSlot {
  keys: Tensor;
  values: Tensor;
  length: number;
  handedOut: [Tensor, Tensor] | null;
}

export class KVCache implements Disposable {
  readonly #layers: (LayerSlot | null)[] = [];
  readonly #initialCapacity: number;

  constructor(options: KVCacheOptions = {}) {
    const capacity = options.capacity ?? 256;
    if (!Number.isInteger(capacity) || capacity < 1) throw new TorchError(`KVCache: capacity must be a positive integer, got ${capacity}`);
    this.#initialCapacity = capacity;
  }

  /** Tokens already cached (layer 0's). */
  get length(): number {
    return this.#layers[0]?.length ?? 0;
  }

  /** Positions layer 0 holds without growing (0 before the first update). */
  get capacity(): number {
    return this.#layers[0]?.keys.shape[2] ?? 0;
  }

  /**
   * Appends this step's keys/values (B, nkv, S, hd) for a layer and returns views of the whole cached sequence.
   * The cache owns what it returns (valid until the layer's next update; callers must not dispose it).
   */
  update(layer: number, keys: Tensor, values: Tensor): [Tensor, Tensor] {
    const added = keys.shape[2];
    const slot = this.#reserve(layer, keys, values, added);
    const end = slot.length + added;
    scope(() => {
      slot.keys.narrow(2, slot.length, added).copy_(keys);
      slot.values.narrow(2, slot.length, added).copy_(values);
    });
    slot.length = end;
    slot.handedOut?.[0].dispose();
    slot.handedOut?.[1].dispose();
    slot.handedOut = [keep(slot.keys.narrow(2, 0, end)), keep(slot.values.narrow(2, 0, end))];
    return slot.handedOut;
  }

  /** The layer's slot with room for `added` more positions (allocated on first use, grown when full). */
  #reserve(layer: number, keys: Tensor, values: Tensor, added: number): LayerSlot {
    const slot = this.#layers[layer] ?? null;
    const [batch, heads, , dim] = keys.shape;
    if (slot !== null && (slot.keys.shape[0] !== batch || slot.keys.shape[1] !== heads || slot.keys.shape[3] !== dim)) {
      throw new TorchError(`KVCache: layer ${layer} holds keys [${slot.keys.shape.join(', ')}], got a step of [${keys.shape.join(', ')}]`);
    }
    const needed = (slot?.length ?? 0) + added;
    const capacity = slot?.keys.shape[2] ?? 0;
    if (slot !== null && needed <= capacity) return slot;
    const size = Math.max(needed, 2 * capacity, this.#initialCapacity);
    const make = (like: Tensor): Tensor => keep(empty([batch, heads, size, like.shape[3]], { dtype: like.dtype, device: like.device }));
    const grown: LayerSlot = { keys: make(keys), values: make(values), length: slot?.length ?? 0, handedOut: slot?.handedOut ?? null };
    if (slot !== null) {
      scope(() => {
        grown.keys.narrow(2, 0, slot.length).copy_(slot.keys.narrow(2, 0, slot.length));
        grown.values.narrow(2, 0, slot.length).copy_(slot.values.narrow(2, 0, slot.length));
      });
      slot.keys.dispose();
      slot.values.dispose();
    }
    this.#layers[layer] = grown;
    return grown;
  }

  /** Keeps only the given batch rows (index: int64 [n]), e.g. to drop finished sequences. */
  selectRows(index: Tensor): void {
    for (const slot of this.#layers) {
      if (!slot) continue;
      const [keys, values] = [keep(slot.keys.indexSelect(0, index)), keep(slot.values.indexSelect(0, index))];
      this.#release(slot);
      Object.assign(slot, { keys, values, handedOut: null });
    }
  }

  #release(slot: LayerSlot): void {
    for (const t of [slot.keys, slot.values, ...(slot.handedOut ?? [])]) t.dispose();
  }

  dispose(): void {
    for (const slot of this.#layers) if (slot) this.#release(slot);
    this.#layers.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
