// ParameterToSave: modules_to_save on a bare parameter (e.g. ViT's vit.embeddings.position_embeddings), which
// Python PEFT silently ignores. The original stays frozen, each adapter gets a trainable copy, and the active
// copy is what the owning module's forward reads (swapped in with replaceParameter). Disabled → the original.
// Saved under the parameter's own key; merge/unload keep the active copy.
import { PeftError, StateDictError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { ADAPTER_CARRIER, type ActivationOptions, type AdapterCarrier, type CarrierEntry } from './carrier.js';
import { BASE_ROW } from './mixed-batch.js';

export class ParameterToSave implements AdapterCarrier {
  readonly [ADAPTER_CARRIER] = 'parameter_copy' as const;
  readonly mergedAdapters: readonly string[] = [];
  readonly original: Parameter;
  readonly copies = new Map<string, Parameter>();
  activeAdapter: string | null = null;
  disabled = false;

  /** root: the model the path is relative to; path: the parameter's dotted name in it. */
  constructor(readonly root: Module, readonly path: string) {
    this.original = root.getParameter(path);
    this.original.requiresGrad = false;
  }

  adapterNames(): string[] {
    return [...this.copies.keys()];
  }

  hasAdapter(name: string): boolean {
    return this.copies.has(name);
  }

  copyOf(name: string): Parameter {
    const copy = this.copies.get(name);
    if (!copy) throw new PeftError(`parameter wrapper '${this.path}' has no copy for adapter '${name}'`);
    return copy;
  }

  /** The tensor the owning module reads now. */
  current(): Parameter {
    return this.root.getParameter(this.path);
  }

  addAdapter(name: string): void {
    if (this.copies.has(name)) return;
    const data = noGrad(() => this.original.clone());
    this.copies.set(name, new Parameter(data, false));
    data.dispose();
  }

  #register(): void {
    const wanted = this.disabled || this.activeAdapter === null ? this.original : this.copyOf(this.activeAdapter);
    if (this.current() !== wanted) this.root.replaceParameter(this.path, wanted);
  }

  /** One copy active at a time (as module copies); none named, or a name without a copy: the original. */
  setAdapter(names: string | null | readonly string[], options: Partial<ActivationOptions> = {}): void {
    const list = names === null ? [] : typeof names === 'string' ? [names] : names;
    const held = list.filter((name) => this.copies.has(name));
    if (held.length > 1) {
      throw new PeftError(`Attempted to set multiple (${held.join(', ')}) adapters at once for the parameter copy ${this.path}, which is not allowed.`);
    }
    this.activeAdapter = held[0] ?? null;
    for (const [adapter, copy] of this.copies) {
      copy.requiresGrad = adapter === this.activeAdapter && !options.inferenceMode && !this.disabled;
    }
    this.#register();
  }

  enableAdapters(enabled: boolean, options: Partial<ActivationOptions> = {}): void {
    this.disabled = !enabled;
    this.setAdapter(this.activeAdapter, options);
  }

  /** A copy starts as the original's values: nothing to reset. */
  resetAdapter(): void {}

  merge(): void {}

  unmerge(): void {}

  /** Saved under the parameter's own key. */
  savedEntries(adapterName: string): CarrierEntry[] {
    if (!this.hasAdapter(adapterName)) return [];
    return [{ key: '', tensor: this.copyOf(adapterName), kind: 'parameter_to_save', load: (value, key) => this.load(adapterName, value, key) }];
  }

  /**
   * A parameter cannot differ per row: when every row wants the same copy (or the original), it is swapped in for
   * the call; rows wanting different ones are an error.
   */
  enterMixedBatch(rowAdapters: readonly string[]): () => void {
    const choices = new Set(rowAdapters.map((name) => (name !== BASE_ROW && this.hasAdapter(name) ? name : null)));
    if (choices.size > 1) {
      throw new PeftError(`adapter_names: the rows need different copies of the parameter ${this.path}, which one forward pass cannot do; batch those rows separately`);
    }
    const [choice] = choices;
    const previous = { active: this.activeAdapter, disabled: this.disabled, frozen: [...this.copies.values()].map((p) => !p.requiresGrad) };
    this.disabled = false;
    this.setAdapter(choice ?? null, { inferenceMode: true });
    return () => {
      this.disabled = previous.disabled;
      this.setAdapter(previous.active, { inferenceMode: true });
      [...this.copies.values()].forEach((p, i) => {
        p.requiresGrad = !previous.frozen[i];
      });
    };
  }

  detachedTensors(): Tensor[] {
    return this.unregisteredTensors();
  }

  deleteAdapter(name: string): void {
    const copy = this.copies.get(name);
    if (!copy) return;
    if (this.activeAdapter === name) this.setAdapter(null);
    this.copies.delete(name);
    copy.dispose();
  }

  /** Copies a saved tensor into one adapter's copy; a shape mismatch names both shapes and the likely cause. */
  load(name: string, value: Tensor, key: string): void {
    const copy = this.copyOf(name);
    if (value.shape.join(',') !== copy.shape.join(',')) {
      throw new StateDictError(
        `modules_to_save parameter '${this.path}' (key ${key}): the adapter holds shape [${value.shape.join(', ')}] ` +
          `but the model's parameter has shape [${copy.shape.join(', ')}]. The adapter was trained on a model of another ` +
          'size — most likely the model was not resized to the adapter\'s image size (or sequence length) before loading.',
      );
    }
    noGrad(() => copy.copy_(value));
  }

  /** Leaves the active copy (or the original when none is active) registered and frees the rest. */
  unwrap(): null {
    const keepTensor = this.activeAdapter === null ? this.original : this.copyOf(this.activeAdapter);
    this.root.replaceParameter(this.path, keepTensor);
    for (const p of [this.original, ...this.copies.values()]) if (p !== keepTensor) p.dispose();
    this.copies.clear();
    return null;
  }

  /** Original plus every copy not registered in the tree (for PEFT-style "all params" counts). */
  unregisteredTensors(): Parameter[] {
    const current = this.current();
    return [this.original, ...this.copies.values()].filter((p) => p !== current);
  }
}
