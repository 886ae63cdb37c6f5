// PeftModel: the user model wrapped as PEFT does (`base_model` = LoraModel, `base_model.model` = the model, so
// in-memory names start with `base_model.model.`), plus adapter management: add/set/delete/disable, merge/unload,
// trainable-parameter counts, mixed-batch forward. Saving and loading live in save-load.ts.
import { PeftError } from '../errors.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoraConfig } from './config.js';
import { injectAdapter, type ParameterWrappers } from './injection.js';
import { modulesToSaveForTask } from './modules-to-save-matching.js';
import { LoraLayer, type MergeOptions } from './layers/lora-layer.js';
import { checkAdapterArgument, checkForwardInputs } from './forward-inputs.js';
import { BASE_ROW, withAdapterNames } from './mixed-batch.js';
import { ModulesToSaveWrapper } from './modules-to-save.js';
import { fromPretrained, loadAdapter, savePretrained, type FromPretrainedOptions, type LoadAdapterOptions, type SavePretrainedOptions } from './save-load.js';
import { getPeftModelStateDict, setPeftModelStateDict, type SetStateDictResult } from './state-dict.js';
import { TrainableTokensWrapper } from './trainable-tokens.js';
import { addWeightedAdapter, type CombinationType, type WeightedAdapterOptions } from './weighted-adapter.js';

type Forwardable = Module & { forward(inputs: Record<string, unknown>): unknown };

/** PEFT's LoraModel: holds the user model as `model`. */
export class LoraModel extends Module {
  constructor(model: Module) {
    super();
    this.registerModule('model', model);
  }

  forward(inputs: Record<string, unknown>): unknown {
    return this.child<Forwardable>('model').forward(inputs);
  }
}

export interface PeftModelOptions {
  /** Where PEFT-style warnings go (default: process.emitWarning). */
  warn?: (message: string) => void;
  /**
   * Loading a saved adapter: modules_to_save entries that match nothing warn instead of throwing, and the LoRA
   * tensors start uninitialised for the saved values (loadAdapter/fromPretrained initialise any the file lacks).
   */
  loading?: boolean;
}

export interface PeftForwardInputs {
  /** One adapter name per batch row ('__base__' = no adapter); eval mode only. */
  adapter_names?: string[];
  [input: string]: unknown;
}

/** What a model's forward returns (unknown for a plain Module). */
export type ForwardResult<M extends Module> = M extends { forward(...args: never[]): infer R } ? R : unknown;

export class PeftModel<M extends Module = Module> extends Module {
  readonly peftConfig = new Map<string, LoraConfig>();
  readonly parameterWrappers: ParameterWrappers = new Map();
  activeAdapter: string;
  readonly warn: (message: string) => void;
  #unloaded = false;

  constructor(model: M, config: LoraConfig, adapterName = 'default', options: PeftModelOptions = {}) {
    super();
    if (model instanceof PeftModel) throw new PeftError('getPeftModel: the model is already a PeftModel; use addAdapter() for another adapter');
    checkAdapterName(adapterName);
    this.warn = options.warn ?? ((message) => process.emitWarning(message, 'PeftWarning'));
    this.registerModule('base_model', new LoraModel(model));
    for (const p of model.parameters()) p.requiresGrad = false;
    this.activeAdapter = adapterName;
    this.#inject(adapterName, config, options.loading ?? false);
    this.setAdapter(adapterName);
  }

  /** The user's model (with LoRA layers and wrappers in place). */
  get model(): M {
    this.#checkLive();
    return this.child<LoraModel>('base_model').child<M>('model');
  }

  get activeAdapters(): string[] {
    return [this.activeAdapter];
  }

  #checkLive(): void {
    if (this.#unloaded) throw new PeftError('This PeftModel was unloaded (mergeAndUnload/unload); use the model they returned');
  }

  #inject(adapterName: string, config: LoraConfig, loading: boolean): void {
    this.peftConfig.set(adapterName, config);
    try {
      injectAdapter(this.model, config, adapterName, {
        warn: this.warn, parameterWrappers: this.parameterWrappers, lenientModulesToSave: loading, skipInit: loading,
      });
    } catch (error) {
      this.peftConfig.delete(adapterName);
      this.#removeAdapterEverywhere(adapterName);
      throw error;
    }
  }

  loraLayers(): [string, LoraLayer][] {
    return this.model.namedModules().filter((e): e is [string, LoraLayer] => e[1] instanceof LoraLayer);
  }

  #wrappers(): [string, ModulesToSaveWrapper | TrainableTokensWrapper][] {
    return this.model
      .namedModules()
      .filter((e): e is [string, ModulesToSaveWrapper | TrainableTokensWrapper] => e[1] instanceof ModulesToSaveWrapper || e[1] instanceof TrainableTokensWrapper);
  }

  /** Names of the modules that carry LoRA (PEFT's targeted_module_names). */
  get targetedModuleNames(): string[] {
    return this.loraLayers().map(([name]) => name);
  }

  /** The wrapped model's forward (its output type), with PEFT's `adapter_names` for mixed batches. */
  forward(inputs: PeftForwardInputs): ForwardResult<M> {
    checkForwardInputs(this.model, inputs);
    const { adapter_names: adapterNames, ...rest } = inputs;
    const model = this.model as unknown as Forwardable;
    if (adapterNames === undefined) return model.forward(rest) as ForwardResult<M>;
    if (this.training) throw new PeftError('Cannot pass adapter_names when the model is in training mode.');
    const unknown = [...new Set(adapterNames)].filter((name) => name !== BASE_ROW && !this.peftConfig.has(name));
    if (unknown.length > 0) throw new PeftError(`Trying to infer with non-existing adapter(s): ${unknown.join(', ')}`);
    return withAdapterNames(adapterNames, () => this.#withRowParameters(adapterNames, () => model.forward(rest))) as ForwardResult<M>;
  }

  /** Bare-parameter copies cannot differ per row; when every row wants the same one, it is used for the call. */
  #withRowParameters<T>(adapterNames: readonly string[], fn: () => T): T {
    const restores: (() => void)[] = [];
    try {
      for (const wrapper of this.parameterWrappers.values()) {
        const choices = new Set(adapterNames.map((name) => (name !== BASE_ROW && wrapper.hasAdapter(name) ? name : null)));
        if (choices.size > 1) {
          throw new PeftError(`adapter_names: the rows need different copies of the parameter ${wrapper.path}, which one forward pass cannot do; batch those rows separately`);
        }
        const [choice] = choices;
        const previous = { active: wrapper.activeAdapter, disabled: wrapper.disabled };
        wrapper.disabled = false;
        wrapper.setAdapter(choice ?? null, { inferenceMode: true });
        restores.push(() => {
          wrapper.disabled = previous.disabled;
          wrapper.setAdapter(previous.active, { inferenceMode: this.#inferenceMode(previous.active) });
        });
      }
      return fn();
    } finally {
      for (const restore of restores.reverse()) restore();
    }
  }

  #inferenceMode(adapterName: string | null): boolean {
    return adapterName === null ? true : (this.peftConfig.get(adapterName)?.inference_mode ?? false);
  }

  /** Adds another adapter (inactive, frozen); PEFT's add_adapter. */
  addAdapter(adapterName: string, config: LoraConfig, options: { loading?: boolean } = {}): void {
    this.#checkLive();
    checkAdapterName(adapterName);
    if (this.peftConfig.has(adapterName)) throw new PeftError(`Adapter with name '${adapterName}' already exists.`);
    if ('lora_'.includes(adapterName)) this.warn(`Adapter name '${adapterName}' should not be contained in the prefix 'lora_'.`);
    this.#inject(adapterName, config, options.loading ?? false);
    this.setAdapter(this.activeAdapter);
  }

  /** Makes one adapter active everywhere; its tensors become trainable unless its config is in inference mode. */
  setAdapter(adapterName: string): void {
    this.#checkLive();
    checkAdapterArgument('setAdapter', adapterName);
    if (!this.peftConfig.has(adapterName)) throw new PeftError(`Adapter ${adapterName} not found.`);
    const inferenceMode = this.#inferenceMode(adapterName);
    for (const [, module] of this.model.namedModules()) {
      if (module instanceof LoraLayer) module.setAdapter([adapterName], { inferenceMode });
      else if (module instanceof ModulesToSaveWrapper || module instanceof TrainableTokensWrapper) module.setAdapter(adapterName, { inferenceMode });
    }
    for (const wrapper of this.parameterWrappers.values()) wrapper.setAdapter(adapterName, { inferenceMode });
    this.activeAdapter = adapterName;
    this.#applyBiasTrainability(adapterName, !inferenceMode);
  }

  /** bias='all' / 'lora_only': those base biases train with the adapter (PEFT allows this for one adapter only). */
  #applyBiasTrainability(adapterName: string, trainable: boolean): void {
    const bias = this.peftConfig.get(adapterName)?.bias ?? 'none';
    if (bias === 'none') return;
    if (bias === 'lora_only') {
      for (const [, layer] of this.loraLayers()) {
        const b = layer.hasAdapter(adapterName) ? layer.baseLayer.paramOrNull('bias') : null;
        if (b) b.requiresGrad = trainable;
      }
      return;
    }
    const wrapped = this.#wrappers().map(([name]) => `${name}.`);
    for (const [name, p] of this.model.namedParameters()) {
      if ((name === 'bias' || name.endsWith('.bias')) && !wrapped.some((w) => name.startsWith(w)) && !name.includes('.lora_')) p.requiresGrad = trainable;
    }
  }

  #removeAdapterEverywhere(adapterName: string): void {
    for (const [, layer] of this.loraLayers()) layer.deleteAdapter(adapterName);
    for (const [, wrapper] of this.#wrappers()) {
      if (wrapper instanceof ModulesToSaveWrapper) wrapper.deleteAdapter(adapterName);
      else wrapper.tokenAdapter.deleteAdapter(adapterName);
    }
    for (const [path, wrapper] of this.parameterWrappers) {
      wrapper.deleteAdapter(adapterName);
      if (wrapper.adapterNames().length === 0) {
        wrapper.unwrap();
        this.parameterWrappers.delete(path);
      }
    }
  }

  /** Deletes an adapter; if it was active, the alphabetically first remaining one becomes active. */
  deleteAdapter(adapterName: string): void {
    this.#checkLive();
    checkAdapterArgument('deleteAdapter', adapterName);
    if (!this.peftConfig.has(adapterName)) throw new PeftError(`Adapter ${adapterName} does not exist`);
    if (this.loraLayers().some(([, l]) => l.mergedAdapters.includes(adapterName))) {
      throw new PeftError(`Cannot delete adapter '${adapterName}' while it is merged; call unmergeAdapter() first`);
    }
    this.#removeAdapterEverywhere(adapterName);
    this.peftConfig.delete(adapterName);
    if (this.activeAdapter === adapterName) {
      const [next] = [...this.peftConfig.keys()].sort();
      if (next !== undefined) {
        this.warn(`Adapter ${adapterName} was active which is now deleted. Setting active adapter to ${next}.`);
        this.setAdapter(next);
      }
    }
  }

  #enable(enabled: boolean): void {
    const inferenceMode = this.#inferenceMode(this.activeAdapter);
    for (const [, layer] of this.loraLayers()) layer.enableAdapters(enabled);
    for (const [, wrapper] of this.#wrappers()) wrapper.enableAdapters(enabled, { inferenceMode });
    for (const wrapper of this.parameterWrappers.values()) wrapper.enableAdapters(enabled, { inferenceMode });
  }

  /**
   * Runs fn with every adapter disabled (LoRA bypassed, wrappers read their originals) and re-enables them after,
   * also when fn throws or its promise rejects. Unlike PEFT, re-enabling keeps a frozen adapter frozen.
   */
  disableAdapter<T>(fn: () => T): T {
    this.#checkLive();
    this.#enable(false);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#enable(true);
      throw error;
    }
    if (result instanceof Promise) return result.finally(() => this.#enable(true)) as T;
    this.#enable(true);
    return result;
  }

  /** Folds adapters (default: the active one) into the base weights; PEFT's merge_adapter. */
  mergeAdapter(options: MergeOptions = {}): void {
    this.#checkLive();
    const names = options.adapterNames ?? this.activeAdapters;
    for (const name of names) if (!this.peftConfig.has(name)) throw new PeftError(`Adapter ${name} not found.`);
    for (const [, layer] of this.loraLayers()) layer.merge({ ...options, adapterNames: names });
    for (const [, wrapper] of this.#wrappers()) {
      if (wrapper instanceof TrainableTokensWrapper && !wrapper.tokenAdapter.tiedTo) for (const name of names) wrapper.tokenAdapter.merge(name);
    }
  }

  unmergeAdapter(): void {
    this.#checkLive();
    for (const [, layer] of this.loraLayers()) layer.unmerge();
    for (const [, wrapper] of this.#wrappers()) if (wrapper instanceof TrainableTokensWrapper) wrapper.tokenAdapter.unmerge();
  }

  /** Merges, then returns the plain model: LoRA layers → their (merged) base layers, wrappers → the active copy. */
  mergeAndUnload(options: MergeOptions & { progressbar?: boolean } = {}): Module {
    this.mergeAdapter(options);
    return this.#unload(true);
  }

  /** Returns the plain model without merging (modules_to_save wrappers still leave the active copy, as PEFT). */
  unload(): Module {
    return this.#unload(false);
  }

  #unload(merge: boolean): Module {
    this.#checkLive();
    const model = this.model;
    const entries = model.namedModules().reverse();
    for (const [name, module] of entries) {
      if (module instanceof LoraLayer) {
        const base = module.baseLayer;
        for (const adapter of module.adapterNames()) for (const [, p] of module.adapterParameters(adapter)) p.dispose();
        model.replaceModule(name, base);
      } else if (module instanceof ModulesToSaveWrapper) {
        model.replaceModule(name, module.unwrap());
      } else if (module instanceof TrainableTokensWrapper) {
        model.replaceModule(name, module.unwrap(merge));
      }
    }
    for (const wrapper of this.parameterWrappers.values()) wrapper.unwrap();
    this.parameterWrappers.clear();
    this.peftConfig.clear();
    this.#unloaded = true;
    return model;
  }

  /** [trainable, all] parameter element counts, as PEFT's get_nb_trainable_parameters. */
  getNbTrainableParameters(): [number, number] {
    let trainable = 0;
    let all = 0;
    for (const p of this.parameters()) {
      all += p.numel();
      if (p.requiresGrad) trainable += p.numel();
    }
    for (const wrapper of this.parameterWrappers.values()) for (const p of wrapper.unregisteredTensors()) all += p.numel();
    return [trainable, all];
  }

  /** PEFT's exact line: `trainable params: 563 || all params: 3,766 || trainable%: 14.9495` (printed and returned). */
  printTrainableParameters(): string {
    const [trainable, all] = this.getNbTrainableParameters();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${(all === 0 ? 0 : (100 * trainable) / all).toFixed(4)}`;
    console.log(line);
    return line;
  }

  /** base model + adapter folder → PeftModel (frozen, eval mode unless isTrainable). */
  static fromPretrained<T extends Module>(model: T, dir: string, options: FromPretrainedOptions = {}): Promise<PeftModel<T>> {
    return fromPretrained(model, dir, options);
  }

  /** Writes the adapters as PEFT does (default adapter in dir, others in dir/<name>). */
  savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    this.#checkLive();
    return savePretrained(this, dir, options);
  }

  /** Loads another adapter (not activated; frozen unless isTrainable). */
  loadAdapter(dir: string, adapterName: string, options: LoadAdapterOptions = {}): Promise<SetStateDictResult> {
    this.#checkLive();
    return loadAdapter(this, dir, adapterName, options);
  }

  addWeightedAdapter(adapters: string[], weights: number[], adapterName: string, combinationType: CombinationType = 'svd',
    options: WeightedAdapterOptions = {}): void {
    this.#checkLive();
    addWeightedAdapter(this, adapters, weights, adapterName, combinationType, options);
  }

  /** One adapter's tensors under PEFT's saved keys (live tensors: do not dispose). */
  getPeftModelStateDict(adapterName = this.activeAdapter): Record<string, Tensor> {
    return getPeftModelStateDict(this, adapterName);
  }

  setPeftModelStateDict(stateDict: Record<string, Tensor>, adapterName = this.activeAdapter): SetStateDictResult {
    return setPeftModelStateDict(this, stateDict, adapterName);
  }

  /** The trainable tensors (what an optimizer should get). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }
}

function checkAdapterName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.includes('.') || name === BASE_ROW) {
    throw new PeftError(`adapter name: expected a non-empty string without '.' and other than '${BASE_ROW}', got ${JSON.stringify(name)}`);
  }
}

/** Wraps a model for LoRA training with one adapter (PEFT's get_peft_model); the model is changed in place. */
export function getPeftModel<M extends Module>(model: M, config: LoraConfig, adapterName = 'default', options: PeftModelOptions = {}): PeftModel<M> {
  config.modules_to_save = modulesToSaveForTask(config);
  return new PeftModel(model, config, adapterName, options);
}
