// LoraLayer: what every LoRA layer shares — the wrapped `base_layer`, per-adapter rank/alpha/scaling/dropout,
// the active adapters, disabling, the forward's routing (disabled, merged, mixed batch, active adapters), mixed
// batches, DoRA magnitudes, merge/unmerge. Subclasses hold the A/B tensors and the layer-specific math (hooks below).
import { PeftError } from '../../errors.js';
import { type ModuleDict, ParameterDict } from '../../nn/containers.js';
import { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';
import { noGrad } from '../../tensor/autograd.js';
import { keep, scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ADAPTER_CARRIER, type ActivationOptions, type AdapterCarrier, type CarrierEntry, noUndo } from '../carrier.js';
import { DoraMagnitude, doraMergedWeight, doraOutput, doraUnmergedWeight } from '../dora.js';
import { aloraMask } from '../alora.js';
import { BASE_ROW, checkBatch, currentAdapterNames, rowIndex, rowsByAdapter } from '../mixed-batch.js';
import { loraScaling } from '../patterns.js';
import { adapterDtype, moduleDictOf, removeFromModuleDict, removeFromParameterDict } from './containers.js';
import { changesBaseWeight } from './weight-inits.js';

export { checkLoraOptions, savedLoraName, type AdapterRows, type AdapterSettings, type InitLoraWeights, type LoraLayerOptions } from './lora-options.js';
import { adapterSettings, savedLoraName, type AdapterRows, type AdapterSettings, type InitLoraWeights, type LoraLayerOptions } from './lora-options.js';

type Forwardable = Module & { forward(x: Tensor): Tensor };

export interface MergeOptions {
  safeMerge?: boolean;
  adapterNames?: string[];
}

export abstract class LoraLayer extends Module implements AdapterCarrier {
  readonly [ADAPTER_CARRIER] = 'lora' as const;
  /** Names of the child containers / parameter dicts that hold per-adapter tensors (PEFT's adapter_layer_names). */
  abstract readonly adapterLayerNames: readonly string[];
  readonly settings = new Map<string, AdapterSettings>();
  activeAdapters: string[] = [];
  disabled = false;
  mergedAdapters: string[] = [];
  /** DoRA weight norms taken at merge time, so unmerge restores W exactly. */
  readonly #mergeNorms = new Map<string, Tensor>();

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

  /** Creates one adapter's A and B in this layer's containers, uninitialised (torch.empty). */
  protected abstract createLoraTensors(adapterName: string, r: number): void;

  /** Initialises A and B as PEFT does: the nn layers' default init where PEFT makes nn layers, then init_lora_weights. */
  protected abstract initLoraTensors(adapterName: string, init: InitLoraWeights, r: number): void;

  /** The adapter's A and B, by their names inside this layer. */
  protected abstract loraParameters(adapterName: string): [string, Parameter][];

  /** ΔW of one adapter in the base weight's own layout. */
  abstract deltaWeight(adapterName: string): Tensor;

  /** scaling·B(A(x)) of one adapter (dropout applied in training). */
  protected abstract loraOutput(x: Tensor, adapterName: string): Tensor;

  /** DoRA: the norm of a weight (W + ΔW, base layout) PEFT divides the magnitude by, shaped like the magnitude. */
  protected abstract weightNorm(weight: Tensor): Tensor;

  /** DoRA: m/‖W+ΔW‖ (magnitude-shaped) reshaped to scale W in its own layout. */
  protected abstract scaleForWeight(factor: Tensor): Tensor;

  /** DoRA: the base output's bias, shaped to broadcast over the output (null when the base has none). */
  protected abstract outputBias(): Tensor | null;

  /** The base weight merges change and DoRA normalises (a ParamWrapper: the parameter it adapts). */
  protected targetWeight(): Parameter {
    return this.baseLayer.param('weight');
  }

  /** Layers that implement aLoRA's token mask / lora_B's bias (lora_bias). */
  protected readonly supportsAlora: boolean = false;
  protected readonly supportsLoraBias: boolean = false;

  /** lora_B's bias of one adapter (lora_bias), or null. */
  protected loraBiasOf(_adapterName: string): Parameter | null {
    return null;
  }

  /** An adapter's term as it enters the output: aLoRA adapters only on the positions from their invocation on. */
  protected gatedTerm(term: Tensor, adapterName: string, rows: readonly number[] | null = null): Tensor {
    if (!this.setting(adapterName).alora) return term;
    const mask = aloraMask(term, rows);
    const out = term.mul(mask);
    mask.dispose();
    return out;
  }

  /**
   * Adds one adapter to this layer (PEFT's update_layer). initialize false (loading a saved adapter, as PEFT's
   * low_cpu_mem_usage): A and B stay uninitialised for the caller to overwrite or resetLoraParameters().
   */
  updateLayer(adapterName: string, options: LoraLayerOptions, { initialize = true }: { initialize?: boolean } = {}): void {
    const changesBase = changesBaseWeight(options.initLoraWeights);
    const others = this.adapterNames().filter((name) => name !== adapterName);
    if (changesBase && others.length > 0) {
      throw new PeftError(`init_lora_weights ${JSON.stringify(options.initLoraWeights)} changes the base weight of this ${this.constructor.name}, which adapter(s) ${others.join(', ')} also use; ` +
        'add it to a model without other adapters, or convert it to a plain LoRA adapter (savePretrained with initialAdapterDir)');
    }
    const s = this.recordSettings(adapterName, options);
    this.createLoraTensors(adapterName, s.r);
    // PiSSA / OLoRA rewrite the base weight: a loaded adapter of that kind needs it too (PEFT re-runs the init).
    if (initialize || changesBase) this.initLoraTensors(adapterName, s.initLoraWeights, s.r);
    if (initialize) this.#roundToBaseDtype(adapterName);
    if (s.useDora) this.#initMagnitude(adapterName);
  }

  /**
   * PEFT moves a new adapter to the base layer's dtype before autocast_adapter_dtype widens it back to float32: on a
   * bf16/fp16 base the initial values are bf16/fp16 numbers held in float32.
   */
  #roundToBaseDtype(adapterName: string): void {
    const baseDtype = this.targetWeight().dtype;
    if (baseDtype !== 'bfloat16' && baseDtype !== 'float16') return;
    noGrad(() => {
      for (const [, p] of this.loraParameters(adapterName)) scope(() => void p.copy_(p.to(baseDtype)));
    });
  }

  /** Initialises one adapter's tensors afresh (PEFT's reset_lora_parameters; DoRA: the magnitude from the new ΔW). */
  resetLoraParameters(adapterName: string): void {
    const s = this.setting(adapterName);
    noGrad(() => this.initLoraTensors(adapterName, s.initLoraWeights, s.r));
    if (s.useDora) this.#initMagnitude(adapterName);
  }

  /**
   * m = ‖W + ΔW‖ (PEFT's DoRA init), into a new lora_magnitude_vector entry or the existing one. PEFT takes the norm
   * in the base weight's dtype (its new adapter is still in that dtype then) and keeps m in float32.
   */
  #initMagnitude(adapterName: string): void {
    const weight = this.targetWeight();
    noGrad(() => {
      const norm = scope(() => this.weightNorm(weight.add(this.deltaWeight(adapterName).to(weight.dtype))).to(adapterDtype(weight.dtype)));
      const existing = this.doraMagnitude(adapterName);
      if (existing) existing.copy_(norm);
      else moduleDictOf(this, 'lora_magnitude_vector').set(adapterName, new DoraMagnitude(norm));
      norm.dispose();
    });
  }

  /** The DoRA magnitude of one adapter, or null for a plain LoRA adapter. */
  protected doraMagnitude(adapterName: string): Parameter | null {
    if (!this.hasChild('lora_magnitude_vector')) return null;
    const dict = this.child<ModuleDict>('lora_magnitude_vector');
    return dict.has(adapterName) ? dict.get(adapterName).param('weight') : null;
  }

  /** Every parameter belonging to one adapter, by its name inside this layer. */
  adapterParameters(adapterName: string): [string, Parameter][] {
    if (!this.hasAdapter(adapterName)) return [];
    const out = this.loraParameters(adapterName);
    const m = this.doraMagnitude(adapterName);
    if (m) out.push([`lora_magnitude_vector.${adapterName}.weight`, m]);
    return out;
  }

  forward(x: Tensor): Tensor {
    const base = this.baseLayer as Forwardable;
    if (this.disabled) {
      if (this.merged) this.unmerge();
      return base.forward(x);
    }
    const adapterNames = currentAdapterNames();
    if (adapterNames) return this.mixedForward(x, this.#adapterRows(x, adapterNames));
    const active = this.activeHere();
    if (this.merged || active.length === 0) return base.forward(x);
    return this.adaptedForward(x, active);
  }

  /** The base output plus each active adapter's term (DoRA adapters through dora.ts's doraOutput). */
  protected adaptedForward(x: Tensor, active: string[]): Tensor {
    return scope(() => {
      let y = (this.baseLayer as Forwardable).forward(x);
      for (const name of active) {
        const term = this.gatedTerm(this.loraOutput(x, name), name);
        if (!this.setting(name).useDora) {
          y = y.add(term);
          continue;
        }
        const norm = noGrad(() => this.weightNorm(this.targetWeight().add(this.deltaWeight(name))));
        y = doraOutput(y, term, this.doraMagnitude(name) as Parameter, norm, this.outputBias());
      }
      const baseDtype = this.targetWeight().dtype;
      return y.dtype === baseDtype ? y : y.to(baseDtype); // float32 adapters on a bf16 base: back to its dtype, as PEFT
    });
  }

  #adapterRows(x: Tensor, adapterNames: readonly string[]): AdapterRows {
    checkBatch(x, adapterNames, this.constructor.name);
    this.#checkMixable(adapterNames);
    const groups: AdapterRows = new Map();
    for (const [name, rows] of rowsByAdapter(adapterNames)) if (name !== BASE_ROW && this.hasAdapter(name)) groups.set(name, rows);
    return groups;
  }

  #checkMixable(rowAdapters: readonly string[]): void {
    if (this.merged) throw new PeftError('Cannot pass adapter_names when there are merged adapters, please call `unmerge_adapter` first.');
    for (const name of new Set(rowAdapters)) {
      if (this.settings.get(name)?.useDora) throw new PeftError(`Cannot pass adapter_names with DoRA adapters (adapter '${name}' uses DoRA)`);
    }
  }

  enterMixedBatch(rowAdapters: readonly string[]): () => void {
    this.#checkMixable(rowAdapters);
    return noUndo;
  }

  /** A mixed batch: the base output for every row, plus each adapter's term on its rows (PEFT's _mixed_batch_forward). */
  protected mixedForward(x: Tensor, groups: AdapterRows): Tensor {
    return scope(() => {
      let y = (this.baseLayer as Forwardable).forward(x);
      for (const [name, list] of groups) {
        const rows = rowIndex(list, x.device);
        y = y.indexAdd(0, rows, this.gatedTerm(this.loraOutput(x.indexSelect(0, rows), name), name, list));
      }
      return y;
    });
  }

  protected recordSettings(adapterName: string, o: LoraLayerOptions): AdapterSettings {
    const s = adapterSettings(this.constructor.name, adapterName, o, { alora: this.supportsAlora, loraBias: this.supportsLoraBias });
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
    s.scaling = scale * loraScaling(s.loraAlpha, s.r, s.useRslora);
  }

  /** Active adapters present here, in active order. */
  activeHere(): string[] {
    return this.activeAdapters.filter((name) => this.settings.has(name));
  }

  /** Makes the named adapters active; their tensors trainable unless inferenceMode, the others frozen. */
  setAdapter(names: string | readonly string[], options: Partial<ActivationOptions> = {}): void {
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

  /** Disabling bypasses every adapter; requires_grad is left as setAdapter made it (as PEFT's LoRA layers). */
  enableAdapters(enabled: boolean): void {
    this.disabled = !enabled;
  }

  resetAdapter(name: string): void {
    if (this.hasAdapter(name)) this.resetLoraParameters(name);
  }

  savedEntries(adapterName: string): CarrierEntry[] {
    return this.adapterParameters(adapterName).map(([local, tensor]) => ({ key: savedLoraName(local), tensor, kind: 'lora' }));
  }

  /** The base layer, with every adapter's tensors freed (merge first to keep their effect). */
  unwrap(): Module {
    for (const adapter of this.adapterNames()) for (const [, p] of this.adapterParameters(adapter)) p.dispose();
    return this.baseLayer;
  }

  detachedTensors(): Tensor[] {
    return [];
  }

  deleteAdapter(adapterName: string): void {
    if (!this.settings.has(adapterName)) return;
    if (this.mergedAdapters.includes(adapterName)) {
      throw new PeftError(`Cannot delete adapter '${adapterName}': it is merged into ${this.constructor.name}; unmerge first`);
    }
    for (const [, p] of this.adapterParameters(adapterName)) p.dispose();
    for (const container of this.adapterLayerNames) {
      if (this.hasChild(container) && this.child(container) instanceof ParameterDict) removeFromParameterDict(this, container, adapterName);
      else removeFromModuleDict(this, container, adapterName);
    }
    this.settings.delete(adapterName);
    this.activeAdapters = this.activeAdapters.filter((name) => name !== adapterName);
  }

  /** Folds the adapters (default: the active ones) into the base weight. Already merged ones are skipped. */
  merge(namesOrOptions: readonly string[] | MergeOptions = {}, options: { safeMerge?: boolean } = {}): void {
    const legacy = Array.isArray(namesOrOptions) ? null : (namesOrOptions as MergeOptions);
    const names = legacy ? (legacy.adapterNames ?? this.activeHere()) : (namesOrOptions as readonly string[]);
    const safeMerge = (legacy ? legacy.safeMerge : options.safeMerge) ?? false;
    noGrad(() => {
      for (const name of names) {
        if (!this.settings.has(name)) continue;
        if (this.mergedAdapters.includes(name)) continue;
        this.#mergeOne(name, safeMerge);
        this.mergedAdapters.push(name);
      }
    });
  }

  /** Undoes every merge, in reverse order. */
  unmerge(): void {
    noGrad(() => {
      while (this.mergedAdapters.length > 0) this.#unmergeOne(this.mergedAdapters.pop() as string);
    });
  }

  /** W ← W + ΔW; DoRA (dora.ts): W ← (W + ΔW)·m/‖W + ΔW‖, keeping that norm so unmerge restores W exactly. */
  #mergeOne(adapterName: string, safeMerge: boolean): void {
    const weight = this.targetWeight();
    if (this.setting(adapterName).alora) throw new PeftError(`aLoRA does not support merging (adapter '${adapterName}'), as in PEFT`);
    const loraBias = this.loraBiasOf(adapterName);
    const baseBias = this.baseLayer.paramOrNull('bias');
    if (loraBias && !baseBias) throw new PeftError('Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias.');
    scope(() => {
      let merged = weight.add(this.deltaWeight(adapterName));
      if (this.setting(adapterName).useDora) {
        const norm = keep(this.weightNorm(merged));
        this.#mergeNorms.set(adapterName, norm);
        merged = doraMergedWeight(merged, this.doraMagnitude(adapterName) as Parameter, norm, (f) => this.scaleForWeight(f));
      }
      const mergedBias = loraBias && baseBias ? baseBias.add(loraBias.mul(this.setting(adapterName).scaling)) : null;
      if (safeMerge) LoraLayer.checkFinite(merged, adapterName);
      if (safeMerge && mergedBias) LoraLayer.checkFinite(mergedBias, adapterName);
      weight.copy_(merged);
      if (mergedBias) baseBias?.copy_(mergedBias);
    });
  }

  #unmergeOne(adapterName: string): void {
    const weight = this.targetWeight();
    scope(() => {
      const loraBias = this.loraBiasOf(adapterName);
      if (loraBias) this.baseLayer.param('bias').sub_(loraBias.mul(this.setting(adapterName).scaling));
      const delta = this.deltaWeight(adapterName);
      const norm = this.#mergeNorms.get(adapterName);
      if (!norm) {
        weight.sub_(delta);
        return;
      }
      weight.copy_(doraUnmergedWeight(weight, delta, this.doraMagnitude(adapterName) as Parameter, norm, (f) => this.scaleForWeight(f)));
      this.#mergeNorms.delete(adapterName);
      norm.dispose();
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

/** The LoRA layers among a model's adapter carriers. */
export function loraLayersOf(carriers: readonly [string, unknown][]): [string, LoraLayer][] {
  return carriers.filter((entry): entry is [string, LoraLayer] => entry[1] instanceof LoraLayer);
}
