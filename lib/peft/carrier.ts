// AdapterCarrier: the one interface of everything that holds per-adapter state — LoRA layers, module copies
// (modules_to_save), parameter copies (node-peft's bare-parameter modules_to_save) and trainable tokens. PeftModel
// and the state-dict code iterate carriers once and never ask which kind they hold.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

export type CarrierKind = 'lora' | 'module_copy' | 'parameter_copy' | 'trainable_tokens';

/** What a saved adapter key holds (save and load treat the kinds alike; errors and checks name them). */
export type SavedKeyKind = 'lora' | 'bias' | 'embedding' | 'module_to_save' | 'parameter_to_save' | 'trainable_tokens';

export interface CarrierEntry {
  /** The saved key relative to the carrier's path ('' = the path itself, as a parameter copy is saved). */
  key: string;
  /** The live tensor (callers must not dispose it). */
  tensor: Tensor;
  kind: SavedKeyKind;
  /** Copies a loaded value in; when absent the caller checks the shape and copies. Throws StateDictError. */
  load?: (value: Tensor, savedKey: string) => void;
}

export interface ActivationOptions {
  /** Active adapters stay frozen (an adapter loaded for inference). */
  inferenceMode: boolean;
}

export const ADAPTER_CARRIER: unique symbol = Symbol.for('node-peft.adapterCarrier');

export interface AdapterCarrier {
  readonly [ADAPTER_CARRIER]: CarrierKind;
  adapterNames(): string[];
  hasAdapter(name: string): boolean;
  /** Makes these adapters active here (names it lacks are skipped); active ones trainable unless inferenceMode. */
  setAdapter(names: readonly string[], options: ActivationOptions): void;
  /** Disabled: forward reads the base, every adapter frozen; enabled again: the active ones as setAdapter left them. */
  enableAdapters(enabled: boolean, options: ActivationOptions): void;
  /** Removes one adapter's state (no-op for a name it lacks); a merged adapter is an error. */
  deleteAdapter(name: string): void;
  /** Initialises one adapter's tensors as a fresh adapter (loading: tensors the file lacks). */
  resetAdapter(name: string): void;
  /** Adapters folded into the base weights, in merge order. */
  readonly mergedAdapters: readonly string[];
  /** Folds the named adapters (those it holds) into the base; a carrier with nothing to fold does nothing. */
  merge(names: readonly string[], options: { safeMerge: boolean }): void;
  unmerge(): void;
  /**
   * Leaves the plain model behind (unload / mergeAndUnload, after merging): returns the module to put at the
   * carrier's path, or null when the carrier restores the tree itself (a parameter copy). Adapter tensors are freed.
   */
  unwrap(): Module | null;
  /** One adapter's tensors under their saved keys (relative to the carrier's path). */
  savedEntries(adapterName: string): CarrierEntry[];
  /**
   * "Can mix": prepares a mixed-batch forward (one adapter name per row) and returns what undoes it; throws a
   * PeftError naming the reason when this carrier cannot serve those rows in one pass.
   */
  enterMixedBatch(rowAdapters: readonly string[]): () => void;
  /** Tensors it holds outside the module tree (counted in PEFT's "all params"). */
  detachedTensors(): Tensor[];
}

export function isAdapterCarrier(value: unknown): value is AdapterCarrier {
  return typeof value === 'object' && value !== null && ADAPTER_CARRIER in value;
}

export function carrierKind(carrier: AdapterCarrier): CarrierKind {
  return carrier[ADAPTER_CARRIER];
}

export const noUndo = (): void => undefined;
