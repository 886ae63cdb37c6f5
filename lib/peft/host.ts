// AdapterHost: the narrow view of a PeftModel that saving, loading, state dicts and adapter combination need, so
// that those files never import peft-model.ts (PeftModel imports them).
import type { Module } from '../nn/module.js';
import { type AdapterCarrier, isAdapterCarrier } from './carrier.js';
import type { LoraConfig } from './config.js';

export interface AdapterHost {
  /** The user's model (adapter carriers in place). */
  readonly model: Module;
  readonly peftConfig: Map<string, LoraConfig>;
  readonly warn: (message: string) => void;
  /** Every adapter carrier with its path in `model` (a parameter copy: the parameter's path), module order first. */
  carriers(): [string, AdapterCarrier][];
  addAdapter(adapterName: string, config: LoraConfig, options?: { loading?: boolean }): void;
  deleteAdapter(adapterName: string): void;
  /** Removes an adapter that failed to load, with carriers it alone used: the model as before it was added. */
  discardAdapter(adapterName: string): void;
}

/** The carriers of a module tree (outermost first; nothing inside a carrier is one) plus those kept beside it. */
export function collectCarriers(model: Module, detached: Iterable<[string, AdapterCarrier]>): [string, AdapterCarrier][] {
  const found = model.namedModules().filter((entry): entry is [string, Module & AdapterCarrier] => isAdapterCarrier(entry[1]));
  return [...found, ...detached];
}
