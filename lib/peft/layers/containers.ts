// Helpers over nn.ModuleDict / nn.ParameterDict for per-adapter containers (which have no delete).
import { ModuleDict, ParameterDict } from '../../nn/containers.js';
import type { Module } from '../../nn/module.js';

/** The dict registered on owner under name, creating an empty one the first time. */
export function moduleDictOf(owner: Module, name: string): ModuleDict {
  if (!owner.hasChild(name)) owner.registerModule(name, new ModuleDict());
  return owner.child<ModuleDict>(name);
}

export function parameterDictOf(owner: Module, name: string): ParameterDict {
  if (!owner.hasChild(name)) owner.registerModule(name, new ParameterDict());
  return owner.child<ParameterDict>(name);
}

/** Replaces owner's dict `name` by one without `key` (order of the others kept). */
export function removeFromModuleDict(owner: Module, name: string, key: string): void {
  if (!owner.hasChild(name)) return;
  const old = owner.child<ModuleDict>(name);
  const next = new ModuleDict();
  for (const [k, m] of old.entries()) if (k !== key) next.set(k, m);
  owner.replaceModule(name, next);
}

export function removeFromParameterDict(owner: Module, name: string, key: string): void {
  if (!owner.hasChild(name)) return;
  const old = owner.child<ParameterDict>(name);
  const next = new ParameterDict();
  for (const [k, p] of old.entries()) if (k !== key) next.set(k, p);
  owner.replaceModule(name, next);
}

/** The float dtype adapter tensors get next to a base weight: fp16/bf16 bases get float32 adapters (PEFT's autocast). */
export function adapterDtype(baseDtype: string): 'float32' | 'float64' {
  return baseDtype === 'float64' ? 'float64' : 'float32';
}
