// LoraLayer: what every LoRA layer shares — the wrapped `base_layer`, per-adapter rank/alpha/scaling/dropout,
// the active adapters, disabling, and merge bookkeeping. Subclasses hold the tensors and the math.
import { PeftError } from '../../errors.js';
import { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import type { Tensor } from '../../tensor/tensor.js';

export type InitLoraWeights = boolean | 'gaussian';

/** What one adapter asks of one layer (already resolved through rank_pattern / alpha_pattern). */
export interface LoraLayerOptions {
  r: number;
  loraAlpha: number;
  loraDropout?: number;
  useRslora?: boolean;
  initLoraWeights?: InitLoraWeights;
  useDora?: boolean;
}

export interface AdapterSettings {
  r: number;
  loraAlpha: number;
  scaling: number;
  dropout: number;
  useDora: boolean;
  useRslora: boolean;
}

export interface MergeOptions {
  safeMerge?: boolean;
  adapterNames?: string[];
}

export function loraScaling(r: number, loraAlpha: number, useRslora: boolean): number {
  return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
}

export function checkLoraOptions(layer: string, adapterName: string, o: LoraLayerOptions): void {
  if (!Number.isInteger(o.r) || o.r <= 0) {
    throw new PeftError(`${layer}: r must be a positive integer for adapter '${adapterName}', got ${o.r}`);
  }
  if (typeof o.loraAlpha !== 'number' || !Number.isFinite(o.loraAlpha)) {
    throw new PeftError(`${layer}: lora_alpha must be a finite number for adapter '${adapterName}', got ${o.loraAlpha}`);
  }
  const p = o.loraDropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new PeftError(`${layer}: lora_dropout must be in [0, 1) for adapter '${adapterName}', got ${p}`);
  const init = o.initLoraWeights ?? true;
  if (init !== true && init !== false && init !== 'gaussian') {
    throw new PeftError(`${layer}: init_lora_weights must be true, false or 'gaussian', got ${JSON.stringify(init)}`);
  }
}

export abstract class LoraLayer extends Module {
  /** Names of the child containers / parameter dicts that hold per-adapter tensors (PEFT's adapter_layer_names). */
  abstract readonly adapterLayerNames: readonly string[];
  readonly settings = new Map<string, AdapterSettings>();
  activeAdapters: string[] = [];
  disabled = false;
  mergedAdapters: string[] = [];

  constructor(baseLayer: Module) {
    super();
    this.registerModule('base_layer', baseLayer);
  }

  get baseLayer(): Module {
    return this.child('base_layer');
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  adapterNames(): string[] {
    return [...this.settings.keys()];
  }

  hasAdapter(name: string): boolean {
    return this.settings.has(name);
  }

  /** Adds the tensors of one adapter to this layer (PEFT's update_layer). */
  abstract updateLayer(adapterName: string, options: LoraLayerOptions): void;

  /** ΔW of one adapter in the base weight's own layout. */
  abstract deltaWeight(adapterName: string): Tensor;

  /** Every parameter belonging to one adapter, by its name inside this layer. */
  abstract adapterParameters(adapterName: string): [string, Parameter][];

  /** Removes one adapter's tensors from the containers. */
  protected abstract dropAdapterTensors(adapterName: string): void;

  protected abstract mergeOne(adapterName: string, safeMerge: boolean): void;

  protected abstract unmergeOne(adapterName: string): void;

  protected recordSettings(adapterName: string, o: LoraLayerOptions): AdapterSettings {
    checkLoraOptions(this.constructor.name, adapterName, o);
    const useRslora = o.useRslora ?? false;
    const s: AdapterSettings = {
      r: o.r,
      loraAlpha: o.loraAlpha,
      scaling: loraScaling(o.r, o.loraAlpha, useRslora),
      dropout: o.loraDropout ?? 0,
      useDora: o.useDora ?? false,
      useRslora,
    };
    this.settings.set(adapterName, s);
    return s;
  }

  setting(adapterName: string): AdapterSettings {
    const s = this.settings.get(adapterName);
    if (!s) throw new PeftError(`${this.constructor.name} has no adapter '${adapterName}' (it has: ${this.adapterNames().join(', ') || 'none'})`);
    return s;
  }

  /** Multiplies scaling for the given adapter as PEFT's set_scale: scale·alpha/r (or alpha/√r). */
  setScale(adapterName: string, scale: number): void {
    const s = this.setting(adapterName);
    s.scaling = scale * loraScaling(s.r, s.loraAlpha, s.useRslora);
  }

  /** Active adapters present here, in active order. */
  activeHere(): string[] {
    return this.activeAdapters.filter((name) => this.settings.has(name));
  }

  /** Makes the named adapters active; their tensors trainable unless inferenceMode, the others frozen. */
  setAdapter(names: string | string[], options: { inferenceMode?: boolean } = {}): void {
    const list = typeof names === 'string' ? [names] : [...names];
    if (this.merged && list.join() !== this.activeAdapters.join()) this.unmerge();
    for (const name of this.adapterNames()) {
      const trainable = list.includes(name) && !options.inferenceMode;
      for (const [, p] of this.adapterParameters(name)) p.requiresGrad = trainable;
    }
    this.activeAdapters = list;
  }

  /** Freezes (or unfreezes) one adapter's tensors without changing which adapters are active. */
  setTrainable(adapterName: string, trainable: boolean): void {
    for (const [, p] of this.adapterParameters(adapterName)) p.requiresGrad = trainable;
  }

  enableAdapters(enabled: boolean): void {
    this.disabled = !enabled;
  }

  deleteAdapter(adapterName: string): void {
    if (!this.settings.has(adapterName)) return;
    if (this.mergedAdapters.includes(adapterName)) {
      throw new PeftError(`Cannot delete adapter '${adapterName}': it is merged into ${this.constructor.name}; unmerge first`);
    }
    for (const [, p] of this.adapterParameters(adapterName)) p.dispose();
    this.dropAdapterTensors(adapterName);
    this.settings.delete(adapterName);
    this.activeAdapters = this.activeAdapters.filter((name) => name !== adapterName);
  }

  /** Folds the adapters (default: the active ones) into the base weight. Already merged ones are skipped. */
  merge(options: MergeOptions = {}): void {
    const names = options.adapterNames ?? this.activeHere();
    noGrad(() => {
      for (const name of names) {
        if (!this.settings.has(name)) continue;
        if (this.mergedAdapters.includes(name)) continue;
        this.mergeOne(name, options.safeMerge ?? false);
        this.mergedAdapters.push(name);
      }
    });
  }

  /** Undoes every merge, in reverse order. */
  unmerge(): void {
    noGrad(() => {
      while (this.mergedAdapters.length > 0) this.unmergeOne(this.mergedAdapters.pop() as string);
    });
  }

  /** The base weight after merging, checked for non-finite values (safe_merge). */
  protected static checkFinite(merged: Tensor, adapterName: string): void {
    const finite = merged.isfinite();
    const all = finite.all();
    const ok = Boolean(all.item());
    finite.dispose();
    all.dispose();
    if (!ok) {
      merged.dispose();
      throw new PeftError(`NaNs detected in the merged weights. The adapter ${adapterName} seems to be broken`);
    }
  }
}
