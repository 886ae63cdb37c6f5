// PeftModel: the user model wrapped as PEFT does (`base_model` = LoraModel, `base_model.model` = the model, so
// in-memory names start with `base_model.model.`), plus adapter management: add/set/delete/disable, merge/unload,
// trainable-parameter counts, mixed-batch forward. Everything that holds an adapter is an AdapterCarrier
// (carrier.ts), iterated alike. Saving and loading live in save-load.ts, which sees this class as an AdapterHost.
import { PeftError } from '../errors.js';
import { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { Tensor } from '../tensor/tensor.js';
import { adapterBiases } from './adapter-biases.js';
import { forwardAloraOffsets, withAloraOffsets } from './alora.js';
import type { AdapterCarrier } from './carrier.js';
import { cloneLoraConfig, type LoraConfig } from './config.js';
import { type AdapterHost, collectCarriers } from './host.js';
import { hotswapAdapter } from './hotswap.js';
import { checkAdapterArgument, checkForwardInputs, checkLoadArguments } from './forward-inputs.js';
import { injectAdapter, type ParameterWrappers } from './injection.js';
import { type LoraLayer, loraLayersOf, type MergeOptions } from './layers/lora-layer.js';
import { BASE_ROW, withAdapterNames } from './mixed-batch.js';
import { modulesToSaveForTask } from './modules-to-save-matching.js';
import { applyWeights, loadAdapter, readAdapter, savePretrained, type FromPretrainedOptions, type LoadAdapterOptions, type SavePretrainedOptions } from './save-load.js';
import { getPeftModelStateDict, setPeftModelStateDict, type SetStateDictResult } from './state-dict.js';
import { addWeightedAdapter, type CombinationType, type WeightedAdapterOptions } from './weighted-adapter.js';

import { type Forwardable, LoraModel } from './lora-model.js';

export { LoraModel } from './lora-model.js';

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
  /** aLoRA: per row, how many final positions the adapter acts on (default: found from its invocation tokens). */
  alora_offsets?: (number | null)[];
  [input: string]: unknown;
}

/** What a model's forward returns (unknown for a plain Module). */
export type ForwardResult<M extends Module> = M extends { forward(...args: never[]): infer R } ? R : unknown;

export class PeftModel<M extends Module = Module> extends Module implements AdapterHost {
  /** Each adapter's config (PeftModel's own copies: the configs callers pass are never changed). */
  readonly peftConfig = new Map<string, LoraConfig>();
  /** Parameter copies (bare-parameter modules_to_save) live beside the module tree, by parameter path. */
  readonly parameterWrappers: ParameterWrappers = new Map();
  readonly warn: (message: string) => void;
  #active: string[];
  #unloaded = false;
  /** requires_grad of the model's parameters before wrapping, restored if wrapping or loading fails. */
  readonly #gradsBefore: Map<Parameter, boolean>;

  constructor(model: M, config: LoraConfig, adapterName = 'default', options: PeftModelOptions = {}) {
    super();
    if (model instanceof PeftModel) throw new PeftError('getPeftModel: the model is already a PeftModel; use addAdapter() for another adapter');
    checkAdapterName(adapterName);
    this.warn = options.warn ?? ((message) => process.emitWarning(message, 'PeftWarning'));
    this.#gradsBefore = new Map(model.parameters().map((p) => [p, p.requiresGrad]));
    this.registerModule('base_model', new LoraModel(model));
    for (const p of model.parameters()) p.requiresGrad = false;
    this.#active = [adapterName];
    try {
      this.#inject(adapterName, config, options.loading ?? false);
      this.setAdapter(adapterName);
    } catch (error) {
      this.#abandon();
      throw error;
    }
  }

  /** The user's model (with LoRA layers and wrappers in place). */
  get model(): M {
    this.#checkLive();
    return this.child<LoraModel>('base_model').child<M>('model');
  }

  /** The first active adapter (PEFT's active_adapter). */
  get activeAdapter(): string {
    return this.#active[0];
  }

  /** The active adapters, whose outputs are summed (setAdapter(['a', 'b'])). */
  get activeAdapters(): string[] {
    return [...this.#active];
  }

  #checkLive(): void {
    if (this.#unloaded) throw new PeftError('This PeftModel was unloaded (mergeAndUnload/unload); use the model they returned');
  }

  /** Every adapter carrier with its path in `model`: LoRA layers, module copies, trainable tokens, parameter copies. */
  carriers(): [string, AdapterCarrier][] {
    return collectCarriers(this.model, this.parameterWrappers);
  }

  #inject(adapterName: string, config: LoraConfig, loading: boolean): void {
    const own = cloneLoraConfig(config);
    this.peftConfig.set(adapterName, own);
    try {
      injectAdapter(this.model, own, adapterName, {
        warn: this.warn, parameterWrappers: this.parameterWrappers, lenientModulesToSave: loading, skipInit: loading, otherConfigs: this.peftConfig,
      });
    } catch (error) {
      this.discardAdapter(adapterName);
      throw error;
    }
  }

  loraLayers(): [string, LoraLayer][] {
    return loraLayersOf(this.carriers());
  }

  /** Names of the modules that carry LoRA (PEFT's targeted_module_names). */
  get targetedModuleNames(): string[] {
    return this.loraLayers().map(([name]) => name);
  }

  /** The wrapped model's forward (its output type); PEFT's `adapter_names` (mixed batches), aLoRA offsets. */
  forward(inputs: PeftForwardInputs): ForwardResult<M> {
    checkForwardInputs(this.model, inputs);
    const { adapter_names: adapterNames, alora_offsets: given, ...rest } = inputs;
    const model = this.model as unknown as Forwardable;
    const offsets = forwardAloraOffsets({
      invocationTokens: (name) => this.peftConfig.get(name)?.alora_invocation_tokens ?? null,
      activeAdapter: this.activeAdapter, adapterNames, inputs: rest, given, warn: this.warn,
    });
    const run = (): unknown => (offsets === undefined ? model.forward(rest) : withAloraOffsets(offsets, () => model.forward(rest)));
    if (adapterNames === undefined) return run() as ForwardResult<M>;
    if (this.training) throw new PeftError('Cannot pass adapter_names when the model is in training mode.');
    const unknown = [...new Set(adapterNames)].filter((name) => name !== BASE_ROW && !this.peftConfig.has(name));
    if (unknown.length > 0) throw new PeftError(`Trying to infer with non-existing adapter(s): ${unknown.join(', ')}`);
    return withAdapterNames(adapterNames, () => this.#inMixedBatch(adapterNames, run)) as ForwardResult<M>;
  }

  /** Every carrier prepares for the rows (or says why it cannot); undone after fn. */
  #inMixedBatch<T>(adapterNames: readonly string[], fn: () => T): T {
    const undo: (() => void)[] = [];
    try {
      for (const [, carrier] of this.carriers()) undo.push(carrier.enterMixedBatch(adapterNames));
      return fn();
    } finally {
      for (const step of undo.reverse()) step();
    }
  }

  #inferenceMode(adapterName: string): boolean {
    return this.peftConfig.get(adapterName)?.inference_mode ?? false;
  }

  /** Adds another adapter (inactive, frozen); PEFT's add_adapter. */
  addAdapter(adapterName: string, config: LoraConfig, options: { loading?: boolean } = {}): void {
    this.#checkLive();
    checkAdapterName(adapterName);
    if (this.peftConfig.has(adapterName)) throw new PeftError(`Adapter with name '${adapterName}' already exists.`);
    if ('lora_'.includes(adapterName)) this.warn(`Adapter name '${adapterName}' should not be contained in the prefix 'lora_'.`);
    this.#inject(adapterName, config, options.loading ?? false);
    this.setAdapter(this.#active);
  }

  /**
   * Makes one adapter, or several at once (their outputs summed, as PEFT's set_adapter with a list), active
   * everywhere. Their tensors become trainable unless a selected adapter's config is in inference mode (loaded
   * frozen): then all selected stay frozen. Module copies, parameter copies and trainable tokens allow one active
   * adapter each (PEFT's rule for modules_to_save).
   */
  setAdapter(adapterNames: string | readonly string[]): void {
    this.#checkLive();
    if (typeof adapterNames === 'string') checkAdapterArgument('setAdapter', adapterNames);
    else if (!Array.isArray(adapterNames)) checkAdapterArgument('setAdapter', adapterNames);
    else for (const name of adapterNames) checkAdapterArgument('setAdapter', name);
    const list = typeof adapterNames === 'string' ? [adapterNames] : [...new Set(adapterNames)];
    if (list.length === 0) throw new PeftError('setAdapter: expected at least one adapter name');
    for (const name of list) if (!this.peftConfig.has(name)) throw new PeftError(`Adapter ${name} not found.`);
    const withBias = list.filter((name) => this.peftConfig.get(name)?.bias !== 'none');
    if (withBias.length > 1) throw new PeftError(`setAdapter: only one active adapter may train base biases (bias != 'none'), got ${withBias.join(', ')}`);
    const inferenceMode = list.some((name) => this.#inferenceMode(name));
    for (const [, carrier] of this.carriers()) carrier.setAdapter(list, { inferenceMode });
    this.#active = list;
    for (const name of withBias) this.#setBiasesTrainable(name, !inferenceMode);
  }

  /** bias='all' / 'lora_only': those base biases (adapter-biases.ts) train with the adapter. */
  #setBiasesTrainable(adapterName: string, trainable: boolean): void {
    const bias = this.peftConfig.get(adapterName)?.bias ?? 'none';
    for (const [, p] of adapterBiases(this.model, this.carriers(), adapterName, bias)) p.requiresGrad = trainable;
  }

  /** Removes an adapter from every carrier; parameter copies left without adapters give the parameter back. */
  #removeAdapterEverywhere(adapterName: string): void {
    for (const [, carrier] of this.carriers()) carrier.deleteAdapter(adapterName);
    for (const [path, wrapper] of this.parameterWrappers) {
      if (wrapper.adapterNames().length > 0) continue;
      wrapper.unwrap();
      this.parameterWrappers.delete(path);
    }
  }

  /**
   * Removes an adapter that failed to inject or load: from every carrier, and carriers left without any adapter
   * give their place back to the module they wrap, so the model is as it was before the adapter was added.
   */
  discardAdapter(adapterName: string): void {
    this.peftConfig.delete(adapterName);
    this.#removeAdapterEverywhere(adapterName);
    for (const [path, carrier] of this.carriers().reverse()) {
      if (carrier.adapterNames().length > 0) continue;
      const replacement = carrier.unwrap();
      if (replacement) this.model.replaceModule(path, replacement);
    }
    this.#active = this.#active.filter((name) => name !== adapterName);
  }

  /** Gives the model back as it was before wrapping (wrapping or loading failed); this PeftModel is then unusable. */
  #abandon(): void {
    for (const [, carrier] of this.carriers()) carrier.unmerge();
    for (const name of new Set([...this.peftConfig.keys(), ...this.carriers().flatMap(([, c]) => c.adapterNames())])) this.discardAdapter(name);
    for (const [p, requiresGrad] of this.#gradsBefore) if (!p.disposed) p.requiresGrad = requiresGrad;
    this.#unloaded = true;
  }

  /** Deletes an adapter; the remaining active ones stay active, else the alphabetically first remaining one. */
  deleteAdapter(adapterName: string): void {
    this.#checkLive();
    checkAdapterArgument('deleteAdapter', adapterName);
    if (!this.peftConfig.has(adapterName)) throw new PeftError(`Adapter ${adapterName} does not exist`);
    if (this.carriers().some(([, c]) => c.mergedAdapters.includes(adapterName))) {
      throw new PeftError(`Cannot delete adapter '${adapterName}' while it is merged; call unmergeAdapter() first`);
    }
    this.#removeAdapterEverywhere(adapterName);
    this.peftConfig.delete(adapterName);
    if (!this.#active.includes(adapterName)) return;
    const remaining = this.#active.filter((name) => name !== adapterName);
    const [next] = remaining.length > 0 ? remaining : [...this.peftConfig.keys()].sort();
    if (next === undefined) return;
    if (remaining.length === 0) this.warn(`Adapter ${adapterName} was active which is now deleted. Setting active adapter to ${next}.`);
    this.setAdapter(remaining.length > 0 ? remaining : [next]);
  }

  #enable(enabled: boolean): void {
    const inferenceMode = this.#active.some((name) => this.#inferenceMode(name));
    for (const [, c] of this.carriers()) c.enableAdapters(enabled, { inferenceMode });
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

  /** Folds adapters (default: the active ones) into the base weights; PEFT's merge_adapter. */
  mergeAdapter(options: MergeOptions = {}): void {
    this.#checkLive();
    const names = options.adapterNames ?? this.activeAdapters;
    for (const name of names) if (!this.peftConfig.has(name)) throw new PeftError(`Adapter ${name} not found.`);
    for (const [, carrier] of this.carriers()) carrier.merge(names, { safeMerge: options.safeMerge ?? false });
  }

  unmergeAdapter(): void {
    this.#checkLive();
    for (const [, carrier] of this.carriers()) carrier.unmerge();
  }

  /** Merges, then returns the plain model: LoRA layers → their (merged) base layers, wrappers → the active copy. */
  mergeAndUnload(options: MergeOptions & { progressbar?: boolean } = {}): Module {
    this.mergeAdapter(options);
    return this.#unload();
  }

  /** Returns the plain model without merging (modules_to_save wrappers still leave the active copy, as PEFT). */
  unload(): Module {
    return this.#unload();
  }

  #unload(): Module {
    this.#checkLive();
    const model = this.model;
    for (const [path, carrier] of this.carriers().reverse()) {
      const replacement = carrier.unwrap();
      if (replacement) model.replaceModule(path, replacement);
    }
    this.parameterWrappers.clear();
    this.peftConfig.clear();
    this.#unloaded = true;
    return model;
  }

  /** [trainable, all] parameter element counts, as PEFT's get_nb_trainable_parameters. */
  getNbTrainableParameters(): [number, number] {
    const detached = this.carriers().flatMap(([, c]) => c.detachedTensors());
    const all = [...this.parameters(), ...detached].reduce((sum, p) => sum + p.numel(), 0);
    return [this.trainableParameters().reduce((sum, p) => sum + p.numel(), 0), all];
  }

  /** PEFT's exact line: `trainable params: 563 || all params: 3,766 || trainable%: 14.9495` (printed and returned). */
  printTrainableParameters(): string {
    const [trainable, all] = this.getNbTrainableParameters();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${(all === 0 ? 0 : (100 * trainable) / all).toFixed(4)}`;
    console.log(line);
    return line;
  }

  /**
   * base model + adapter folder → PeftModel (frozen, eval mode unless isTrainable), as PEFT's from_pretrained.
   * When reading, wrapping or loading fails, the model is left as it was.
   */
  static async fromPretrained<T extends Module>(model: T, dir: string, options: FromPretrainedOptions = {}): Promise<PeftModel<T>> {
    checkLoadArguments('fromPretrained', dir, options as Record<string, unknown>);
    const adapterName = options.adapterName ?? 'default';
    const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'PeftWarning'));
    const { config, tensors } = await readAdapter(model, dir, { ...options, warn });
    let peft: PeftModel<T>;
    try {
      peft = new PeftModel(model, config, adapterName, { warn, loading: true });
    } catch (error) {
      for (const t of Object.values(tensors)) t.dispose();
      throw error;
    }
    try {
      applyWeights(peft, adapterName, tensors, dir, options.strict ?? false);
    } catch (error) {
      peft.#abandon();
      throw error;
    }
    if (!(options.isTrainable ?? false)) peft.eval();
    return peft;
  }

  /** Writes the adapters as PEFT does (default adapter in dir, others in dir/<name>). */
  savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    this.#checkLive();
    return savePretrained(this, dir, options);
  }

  /** Loads another adapter (not activated; frozen unless isTrainable); on failure the model is left as it was. */
  loadAdapter(dir: string, adapterName: string, options: LoadAdapterOptions = {}): Promise<SetStateDictResult> {
    this.#checkLive();
    return loadAdapter(this, dir, adapterName, options);
  }

  /** Replaces an adapter's LoRA weights in place by those saved in dir (PEFT's hotswap_adapter; see hotswap.ts). */
  hotswapAdapter(dir: string, adapterName = this.activeAdapter): Promise<void> {
    this.#checkLive();
    return hotswapAdapter(this, dir, adapterName);
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
  const own = cloneLoraConfig(config);
  own.modules_to_save = modulesToSaveForTask(own);
  return new PeftModel(model, own, adapterName, options);
}
