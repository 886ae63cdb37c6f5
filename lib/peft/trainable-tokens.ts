// trainable_token_indices (PEFT §4.5): only the listed rows of an embedding are trained. In memory, as PEFT:
// <emb>.token_adapter.base_layer (the embedding), <emb>.token_adapter.trainable_tokens_delta.<adapter>
// [n, dim] — the NEW values of those rows (they replace the base rows). A tied output layer (lm_head sharing
// the embedding matrix) gets a wrapper that shares the embedding's adapter and computes F.linear(x, W').
import { PeftError } from '../errors.js';
import type { ParameterDict } from '../nn/containers.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import { randn, tensor } from '../tensor/creation.js';
import { embedding, linear } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ADAPTER_CARRIER, type ActivationOptions, type AdapterCarrier, type CarrierEntry } from './carrier.js';
import { adapterDtype, parameterDictOf, removeFromParameterDict } from './layers/containers.js';
import { currentAdapterNames } from './mixed-batch.js';

type BaseLike = Module & { forward(x: Tensor): Tensor; paddingIdx?: number | null };

/** The token_adapter: per-adapter row values over the base embedding's weight. */
export class TrainableTokensLayer extends Module {
  readonly tokenIndices = new Map<string, number[]>();
  /** The layer this one follows (tied lm_head → the embedding's layer); its deltas are used. */
  readonly tiedTo: TrainableTokensLayer | null;
  readonly kind: 'embedding' | 'linear';
  activeAdapter: string | null = null;
  disabled = false;
  mergedAdapters: string[] = [];
  readonly #originals = new Map<string, Tensor>();

  constructor(baseLayer: Module, kind: 'embedding' | 'linear', tiedTo: TrainableTokensLayer | null = null) {
    super();
    this.registerModule('base_layer', baseLayer);
    this.kind = kind;
    this.tiedTo = tiedTo;
  }

  get baseLayer(): BaseLike {
    return this.child<BaseLike>('base_layer');
  }

  /** The layer whose deltas this one uses (itself unless tied). */
  get owner(): TrainableTokensLayer {
    return this.tiedTo ?? this;
  }

  hasAdapter(name: string): boolean {
    return this.owner.tokenIndices.has(name);
  }

  delta(name: string): Parameter {
    return this.owner.child<ParameterDict>('trainable_tokens_delta').get(name);
  }

  addAdapter(name: string, indices: number[], initWeights: boolean): void {
    if (this.tiedTo || this.tokenIndices.has(name)) return;
    const weight = this.baseLayer.param('weight');
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= weight.shape[0]) {
        throw new PeftError(`trainable_token_indices: index ${i} is out of range for an embedding with ${weight.shape[0]} rows`);
      }
    }
    this.tokenIndices.set(name, [...indices]);
    noGrad(() => {
      const index = tensor(indices, { dtype: 'int64', device: weight.device });
      const originals = weight.indexSelect(0, index);
      index.dispose();
      // float32 on a bf16/fp16 embedding, as PEFT's autocast_adapter_dtype
      const values = initWeights ? originals.to({ dtype: adapterDtype(weight.dtype), copy: true }) : randn([indices.length, weight.shape[1]], { dtype: adapterDtype(weight.dtype), device: weight.device });
      parameterDictOf(this, 'trainable_tokens_delta').set(name, new Parameter(values, false));
      values.dispose();
      this.#originals.set(name, originals);
    });
  }

  deleteAdapter(name: string): void {
    if (this.tiedTo || !this.tokenIndices.has(name)) return;
    this.delta(name).dispose();
    removeFromParameterDict(this, 'trainable_tokens_delta', name);
    this.#originals.get(name)?.dispose();
    this.#originals.delete(name);
    this.tokenIndices.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  /** The base weight with the adapter's rows replaced. */
  mergedWeight(name: string): Tensor {
    const weight = this.baseLayer.param('weight');
    return scope(() => {
      const index = tensor(this.owner.tokenIndices.get(name) as number[], { dtype: 'int64', device: weight.device });
      return weight.indexCopy(0, index, this.delta(name).to(weight.dtype));
    });
  }

  forward(x: Tensor): Tensor {
    if (this.disabled || this.activeAdapter === null) {
      if (this.mergedAdapters.length) this.unmerge();
      return this.baseLayer.forward(x);
    }
    if (currentAdapterNames()) throw new PeftError('trainable_token_indices: mixed batches (adapter_names) are not supported');
    if (this.mergedAdapters.length) return this.baseLayer.forward(x);
    return scope(() => {
      const weight = this.mergedWeight(this.activeAdapter as string);
      return this.kind === 'embedding' ? embedding(x, weight, this.baseLayer.paddingIdx ?? null) : linear(x, weight);
    });
  }

  merge(name: string): void {
    if (this.mergedAdapters.includes(name) || !this.hasAdapter(name)) return;
    noGrad(() => {
      const merged = this.mergedWeight(name);
      this.baseLayer.param('weight').copy_(merged);
      merged.dispose();
    });
    this.mergedAdapters.push(name);
  }

  unmerge(): void {
    const weight = this.baseLayer.param('weight');
    noGrad(() => {
      while (this.mergedAdapters.length) {
        const name = this.mergedAdapters.pop() as string;
        const originals = this.owner.#originals.get(name) as Tensor;
        const index = tensor(this.owner.tokenIndices.get(name) as number[], { dtype: 'int64', device: weight.device });
        const restored = weight.indexCopy(0, index, originals);
        weight.copy_(restored);
        restored.dispose();
        index.dispose();
      }
    });
  }
}

/** The module put in the embedding's (or tied layer's) place: holds `token_adapter`. */
export class TrainableTokensWrapper extends Module implements AdapterCarrier {
  readonly [ADAPTER_CARRIER] = 'trainable_tokens' as const;

  constructor(layer: TrainableTokensLayer) {
    super();
    this.registerModule('token_adapter', layer);
  }

  get tokenAdapter(): TrainableTokensLayer {
    return this.child<TrainableTokensLayer>('token_adapter');
  }

  get mergedAdapters(): readonly string[] {
    return this.tokenAdapter.mergedAdapters;
  }

  adapterNames(): string[] {
    return [...this.tokenAdapter.owner.tokenIndices.keys()];
  }

  hasAdapter(name: string): boolean {
    return this.tokenAdapter.hasAdapter(name);
  }

  /** One adapter's rows active at a time, as PEFT (none named, or a name it lacks: the base rows). */
  setAdapter(names: string | null | readonly string[], options: Partial<ActivationOptions> = {}): void {
    const layer = this.tokenAdapter;
    const list = names === null ? [] : typeof names === 'string' ? [names] : names;
    const held = list.filter((name) => layer.hasAdapter(name));
    if (held.length > 1) {
      throw new PeftError(`Only one adapter can be set at a time for TrainableTokensWrapper, got ${held.length} (${held.join(', ')}), as in PEFT`);
    }
    layer.activeAdapter = held[0] ?? null;
    if (layer.tiedTo) return;
    for (const adapter of layer.tokenIndices.keys()) {
      layer.delta(adapter).requiresGrad = adapter === layer.activeAdapter && !options.inferenceMode && !layer.disabled;
    }
  }

  enableAdapters(enabled: boolean, options: Partial<ActivationOptions> = {}): void {
    this.tokenAdapter.disabled = !enabled;
    this.setAdapter(this.tokenAdapter.activeAdapter, options);
  }

  /** A tied layer follows the embedding's adapter: deleting is the embedding wrapper's job. */
  deleteAdapter(name: string): void {
    this.tokenAdapter.deleteAdapter(name);
  }

  /** Fresh rows start as the base rows (init_lora_weights true); nothing else to reset. */
  resetAdapter(): void {}

  /** Writes the rows into the base weight (a tied layer shares that weight: the embedding's wrapper does it). */
  merge(names: readonly string[]): void {
    if (this.tokenAdapter.tiedTo) return;
    for (const name of names) this.tokenAdapter.merge(name);
  }

  unmerge(): void {
    this.tokenAdapter.unmerge();
  }

  savedEntries(adapterName: string): CarrierEntry[] {
    const layer = this.tokenAdapter;
    if (layer.tiedTo || !layer.hasAdapter(adapterName)) return [];
    return [{ key: 'token_adapter.trainable_tokens_delta', tensor: layer.delta(adapterName), kind: 'trainable_tokens' }];
  }

  /** Rows of a mixed batch cannot use different token rows here: only all-base or no-token-adapter rows pass. */
  enterMixedBatch(rowAdapters: readonly string[]): () => void {
    const layer = this.tokenAdapter;
    if (rowAdapters.some((name) => layer.hasAdapter(name)) || layer.activeAdapter !== null) {
      throw new PeftError('trainable_token_indices: mixed batches (adapter_names) are not supported');
    }
    return () => undefined;
  }

  detachedTensors(): Tensor[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    return this.tokenAdapter.forward(x);
  }

  /** On unload: the base layer (merge first to keep the adapter's rows). */
  unwrap(): Module {
    const layer = this.tokenAdapter;
    if (!layer.tiedTo) for (const name of [...layer.tokenIndices.keys()]) if (!layer.mergedAdapters.includes(name)) layer.deleteAdapter(name);
    return layer.baseLayer;
  }
}
