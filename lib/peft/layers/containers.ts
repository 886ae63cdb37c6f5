// Helpers for per-adapter containers: nn.ModuleDict / nn.ParameterDict (which have no delete), the adapter dtype,
// and nn layers whose default init is deferred.
import { ModuleDict, ParameterDict } from '../../nn/containers.js';
import { Conv1d, Conv2d, Conv3d } from '../../nn/conv.js';
import { kaimingUniform_, normal_, zeros_ } from '../../nn/init.js';
import { Linear } from '../../nn/linear.js';
import type { Module } from '../../nn/module.js';

/** init_lora_weights values node-peft implements ('pissa', 'olora', 'orthogonal': Linear layers, weight-inits.ts). */
export type InitLoraWeights = boolean | 'gaussian' | 'pissa' | `pissa_niter_${number}` | 'olora' | 'orthogonal';

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

/**
 * nn.Linear / nn.Conv2d whose weight starts uninitialised (torch.empty) instead of drawing PyTorch's default init:
 * a LoRA layer calls defaultInit() when it creates an adapter (PEFT's RNG order), and skips it when the adapter's
 * tensors are about to be overwritten by a loaded file (PEFT's low_cpu_mem_usage).
 */
export class DeferredInitLinear extends Linear {
  override resetParameters(): void {}

  /** PyTorch's default init, as nn.Linear's constructor draws it. */
  defaultInit(): void {
    super.resetParameters();
  }
}

export class DeferredInitConv2d extends Conv2d {
  override resetParameters(): void {}

  /** PyTorch's default init, as nn.Conv2d's constructor draws it. */
  defaultInit(): void {
    super.resetParameters();
  }
}

export class DeferredInitConv1d extends Conv1d {
  override resetParameters(): void {}

  /** PyTorch's default init, as nn.Conv1d's constructor draws it. */
  defaultInit(): void {
    super.resetParameters();
  }
}

export class DeferredInitConv3d extends Conv3d {
  override resetParameters(): void {}

  /** PyTorch's default init, as nn.Conv3d's constructor draws it. */
  defaultInit(): void {
    super.resetParameters();
  }
}

/** The lora_A / lora_B layer types whose default init is deferred. */
export type DeferredInitLayer = DeferredInitLinear | DeferredInitConv1d | DeferredInitConv2d | DeferredInitConv3d;

/**
 * PEFT's init of lora_A / lora_B layers (Linear, Conv2d): both draw PyTorch's default init, then
 * reset_lora_parameters: A kaiming-uniform (true) or N(0, 1/r) ('gaussian'), B zero; false keeps the default init.
 */
export function initFactorLayers(A: DeferredInitLayer, B: DeferredInitLayer, init: InitLoraWeights, r: number): void {
  A.defaultInit();
  B.defaultInit();
  if (init === true) kaimingUniform_(A.weight, { a: Math.sqrt(5) });
  else if (init === 'gaussian') normal_(A.weight, 0, 1 / r);
  if (init !== false) {
    zeros_(B.weight);
    if (B.bias) zeros_(B.bias);
  }
}
