// ModulesToSaveWrapper (PEFT §4): the frozen `original_module` plus one trainable copy per adapter under
// `modules_to_save.<adapter>`. Forward uses the active adapter's copy; disabled (or no copy active) → original.
// In mixed batches (adapter_names) rows are routed per adapter and re-assembled in batch order.
import { PeftError } from '../errors.js';
import { ModuleDict } from '../nn/containers.js';
import { Module } from '../nn/module.js';
import { zeros } from '../tensor/creation.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { ADAPTER_CARRIER, type ActivationOptions, type AdapterCarrier, type CarrierEntry, noUndo } from './carrier.js';
import { removeFromModuleDict } from './layers/containers.js';
import { BASE_ROW, checkBatch, currentAdapterNames, rowIndex, rowsByAdapter } from './mixed-batch.js';
import { ModuleCopy } from './module-copy.js';

type Forwardable = Module & { forward(...args: unknown[]): unknown };

export class ModulesToSaveWrapper extends Module implements AdapterCarrier {
  readonly [ADAPTER_CARRIER] = 'module_copy' as const;
  readonly mergedAdapters: readonly string[] = [];
  activeAdapter: string | null = null;
  disabled = false;

  constructor(original: Module) {
    super();
    if (original instanceof ModulesToSaveWrapper) throw new PeftError('modules_to_save: the module is already wrapped');
    this.registerModule('original_module', original);
    this.registerModule('modules_to_save', new ModuleDict());
    for (const p of original.parameters()) p.requiresGrad = false;
  }

  get originalModule(): Module {
    return this.child('original_module');
  }

  get copies(): ModuleDict {
    return this.child<ModuleDict>('modules_to_save');
  }

  adapterNames(): string[] {
    return this.copies.keys();
  }

  hasAdapter(name: string): boolean {
    return this.copies.has(name);
  }

  copyOf(name: string): ModuleCopy {
    if (!this.hasAdapter(name)) throw new PeftError(`modules_to_save wrapper has no copy for adapter '${name}' (it has: ${this.adapterNames().join(', ') || 'none'})`);
    return this.copies.get<ModuleCopy>(name);
  }

  /** Adds a copy of the original for a new adapter (frozen until that adapter is set active). */
  addAdapter(name: string): void {
    if (this.hasAdapter(name)) return;
    this.copies.set(name, new ModuleCopy(this.originalModule, { requiresGrad: false }));
  }

  /**
   * Makes one adapter's copy the active one (none named, or a name without a copy: the original); trainable unless
   * inferenceMode. Several names: PEFT allows only one module copy active at a time.
   */
  setAdapter(names: string | null | readonly string[], options: Partial<ActivationOptions> = {}): void {
    const list = names === null ? [] : typeof names === 'string' ? [names] : names;
    const held = list.filter((name) => this.hasAdapter(name));
    if (held.length > 1) {
      throw new PeftError(`Attempted to set multiple (${held.join(', ')}) adapters at once for modules_to_save, which is not allowed.`);
    }
    const chosen = held[0] ?? null;
    for (const adapter of this.adapterNames()) {
      const trainable = adapter === chosen && !options.inferenceMode && !this.disabled;
      for (const p of this.copies.get(adapter).parameters()) p.requiresGrad = trainable;
    }
    this.activeAdapter = chosen;
  }

  /** Disabling freezes every copy and reads the original; enabling unfreezes the active copy. */
  enableAdapters(enabled: boolean, options: Partial<ActivationOptions> = {}): void {
    this.disabled = !enabled;
    this.setAdapter(this.activeAdapter, options);
  }

  /** A copy starts as the original's values whether the file holds it or not: nothing to reset. */
  resetAdapter(): void {}

  /** Module copies have nothing to fold into the base. */
  merge(): void {}

  unmerge(): void {}

  savedEntries(adapterName: string): CarrierEntry[] {
    if (!this.hasAdapter(adapterName)) return [];
    return Object.entries(this.copyOf(adapterName).stateDict()).map(([key, tensor]) => ({ key, tensor, kind: 'module_to_save' }));
  }

  /** Rows are routed to their adapter's copy in forward. */
  enterMixedBatch(): () => void {
    return noUndo;
  }

  detachedTensors(): Tensor[] {
    return [];
  }

  deleteAdapter(name: string): void {
    if (!this.hasAdapter(name)) return;
    this.copies.get(name).dispose();
    removeFromModuleDict(this, 'modules_to_save', name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  /** The module forward uses now. */
  activeModule(): Forwardable {
    if (this.disabled || this.activeAdapter === null) return this.originalModule as Forwardable;
    return this.copies.get(this.activeAdapter) as Forwardable;
  }

  forward(...args: unknown[]): unknown {
    const adapterNames = currentAdapterNames();
    if (adapterNames && !this.disabled) return this.#mixedForward(adapterNames, args);
    return this.activeModule().forward(...args);
  }

  #moduleFor(name: string): Forwardable {
    return (name !== BASE_ROW && this.hasAdapter(name) ? this.copies.get(name) : this.originalModule) as Forwardable;
  }

  #mixedForward(adapterNames: readonly string[], args: unknown[]): unknown {
    const [x, ...rest] = args;
    if (!(x instanceof Tensor)) throw new PeftError('modules_to_save: a mixed batch needs a tensor as the first forward argument');
    checkBatch(x, adapterNames, 'modules_to_save');
    const groups = rowsByAdapter(adapterNames);
    const modules = new Set([...groups.keys()].map((name) => this.#moduleFor(name)));
    if (modules.size === 1) return [...modules][0].forward(x, ...rest);
    return scope(() => {
      let out: Tensor | null = null;
      for (const [name, list] of groups) {
        const rows = rowIndex(list, x.device);
        const part = this.#moduleFor(name).forward(x.indexSelect(0, rows), ...rest);
        if (!(part instanceof Tensor)) throw new PeftError('modules_to_save: a mixed batch needs the wrapped module to return a tensor');
        out ??= zeros([x.shape[0], ...part.shape.slice(1)], { dtype: part.dtype, device: part.device });
        out = out.indexCopy(0, rows, part);
      }
      return out as Tensor;
    });
  }

  /**
   * The module to leave in the tree on unload/merge: the original, now holding the active copy's tensors
   * (PEFT keeps the active copy; the original when no copy is active).
   */
  unwrap(): Module {
    if (this.activeAdapter !== null) this.copies.get<ModuleCopy>(this.activeAdapter).transplant();
    for (const adapter of this.adapterNames()) if (adapter !== this.activeAdapter) this.copies.get(adapter).dispose();
    return this.originalModule;
  }
}
