// ParameterToSave: modules_to_save on a bare parameter (e.g. ViT's vit.embeddings.position_embeddings), which
// Python PEFT silently ignores. The original stays frozen, each adapter gets a trainable copy, and the active
// copy is what the owning module's forward reads (swapped in with replaceParameter). Disabled → the original.
// Saved under the parameter's own key; merge/unload keep the active copy.
import { PeftError, StateDictError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';

export class ParameterToSave {
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

  setAdapter(name: string | null, options: { inferenceMode?: boolean } = {}): void {
    this.activeAdapter = name !== null && this.copies.has(name) ? name : null;
    for (const [adapter, copy] of this.copies) {
      copy.requiresGrad = adapter === this.activeAdapter && !options.inferenceMode && !this.disabled;
    }
    this.#register();
  }

  enableAdapters(enabled: boolean, options: { inferenceMode?: boolean } = {}): void {
    this.disabled = !enabled;
    this.setAdapter(this.activeAdapter, options);
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
  unwrap(): void {
    const keepTensor = this.activeAdapter === null ? this.original : this.copyOf(this.activeAdapter);
    this.root.replaceParameter(this.path, keepTensor);
    for (const p of [this.original, ...this.copies.values()]) if (p !== keepTensor) p.dispose();
    this.copies.clear();
  }

  /** Original plus every copy not registered in the tree (for PEFT-style "all params" counts). */
  unregisteredTensors(): Parameter[] {
    const current = this.current();
    return [this.original, ...this.copies.values()].filter((p) => p !== current);
  }
}
