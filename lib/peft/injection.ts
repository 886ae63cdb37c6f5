// Injecting one adapter into a model (PEFT's inject_adapter + set_additional_trainable_modules): LoRA layers on
// the modules the config targets, modules_to_save wrappers (modules AND bare parameters), trainable tokens.
import { PeftError } from '../errors.js';
import { defaultTargetModules } from './default-targets.js';
import { ModuleDict, ModuleList, ParameterDict } from '../nn/containers.js';
import { Conv1d, Conv2d, Conv3d } from '../nn/conv.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { Conv1D } from '../models/conv1d.js';
import type { LoraConfig } from './config.js';
import { LoraConv2d } from './layers/lora-conv2d.js';
import { LoraEmbedding } from './layers/lora-embedding.js';
import { LoraLayer, type InitLoraWeights, type LoraLayerOptions } from './layers/lora-layer.js';
import { LoraLinear } from './layers/lora-linear.js';
import { LoraParamWrapper } from './layers/lora-param-wrapper.js';
import { findTargets, type FindTargetsModel, type ModuleInfo, type ModuleKind } from './matching.js';
import { ModulesToSaveWrapper } from './modules-to-save.js';
import { matchModulesToSave } from './modules-to-save-matching.js';
import { ParameterToSave } from './parameter-to-save.js';
import { rankAndAlphaFor } from './patterns.js';
import { TrainableTokensLayer, TrainableTokensWrapper } from './trainable-tokens.js';
import { checkWeightTying, refuseUnsupportedVariants } from './variants.js';

/** Auxiliary wrappers living outside the module tree (bare parameters), keyed by parameter path. */
export type ParameterWrappers = Map<string, ParameterToSave>;

export function moduleKind(module: Module): ModuleKind {
  if (module instanceof LoraLayer) return moduleKind(module.baseLayer);
  if (module instanceof Conv1D) return 'transformers_conv1d';
  if (module instanceof Linear) return 'linear';
  if (module instanceof Embedding) return 'embedding';
  if (module instanceof Conv2d) return 'conv2d';
  if (module instanceof Conv3d) return 'conv3d';
  if (module instanceof Conv1d) return 'conv1d';
  if (module instanceof ModuleList) return 'module_list';
  if (module instanceof ModuleDict) return 'module_dict';
  if (module instanceof ParameterDict) return 'parameter_dict';
  return 'other';
}

/** get_output_embeddings() as a name: 'lm_head' for language models, null for other transformers-style models. */
function outputEmbeddingName(model: Module): string | null | undefined {
  if (model.hasChild('lm_head')) return 'lm_head';
  return 'config' in model ? null : undefined;
}

export function describeModel(model: Module): FindTargetsModel {
  const modules: ModuleInfo[] = model.namedModules().map(([name, m]) => ({ name, kind: moduleKind(m), isLoraLayer: m instanceof LoraLayer }));
  return { modules, parameters: model.namedParameters().map(([name]) => name), outputEmbeddingName: outputEmbeddingName(model) };
}

function layerOptions(config: LoraConfig, key: string): LoraLayerOptions {
  const init = config.init_lora_weights;
  const rankAndAlpha = rankAndAlphaFor(config, key);
  return {
    r: rankAndAlpha.r,
    loraAlpha: rankAndAlpha.lora_alpha,
    loraDropout: config.lora_dropout,
    useRslora: config.use_rslora,
    initLoraWeights: init as InitLoraWeights,
    useDora: config.use_dora,
    loraBias: config.lora_bias,
    alora: config.alora_invocation_tokens !== null,
  };
}

function tiedParametersOf(model: Module): [string, string][] {
  return 'tiedParameters' in model && typeof model.tiedParameters === 'function' ? (model.tiedParameters() as [string, string][]) : [];
}

function createLoraLayer(name: string, module: Module, config: LoraConfig, warn: (m: string) => void): LoraLayer {
  const kind = moduleKind(module);
  if (kind === 'linear') {
    if (config.fan_in_fan_out) {
      warn('fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.');
      config.fan_in_fan_out = false;
    }
    return new LoraLinear(module);
  }
  if (kind === 'transformers_conv1d') {
    if (!config.fan_in_fan_out) {
      warn('fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.');
      config.fan_in_fan_out = true;
    }
    return new LoraLinear(module, { fanInFanOut: true });
  }
  if (kind === 'embedding') return new LoraEmbedding(module);
  if (kind === 'conv1d' || kind === 'conv2d' || kind === 'conv3d') return new LoraConv2d(module);
  throw new PeftError(
    `Target module ${name} (${module.constructor.name}) is not supported. Currently, only the following modules are supported: ` +
      'Linear, Embedding, Conv1d, Conv2d, Conv3d and GPT-2 Conv1D.',
  );
}

export interface InjectOptions {
  warn?: (message: string) => void;
  parameterWrappers: ParameterWrappers;
  /** An unmatched modules_to_save entry warns instead of throwing (loading an adapter Python PEFT wrote). */
  lenientModulesToSave?: boolean;
  /** LoRA tensors are left uninitialised, for saved values to overwrite (PEFT's low_cpu_mem_usage). */
  skipInit?: boolean;
  /** The configs of the model's other adapters (target_parameters must agree across adapters). */
  otherConfigs?: ReadonlyMap<string, LoraConfig>;
}

/** Adds adapter `adapterName` to `model` in place (new layers start with it active; existing ones keep theirs). */
export function injectAdapter(model: Module, config: LoraConfig, adapterName: string, options: InjectOptions): void {
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'PeftWarning'));
  refuseUnsupportedVariants(config);
  checkWeightTying(config, tiedParametersOf(model), warn);
  if (config.target_modules === null) config.target_modules = defaultTargetModules(model, config.target_parameters);
  const selection = findTargets(config, describeModel(model));
  for (const message of selection.warnings) warn(message);
  config.target_modules = selection.resolvedTargetModules;
  const initialize = { initialize: !(options.skipInit ?? false) };
  for (const name of selection.targetModules) {
    const module = model.getSubmodule(name);
    const layerConfig = layerOptions(config, name);
    if (module instanceof LoraLayer) {
      module.updateLayer(adapterName, layerConfig, initialize);
      module.setAdapter(module.activeAdapters);
      continue;
    }
    if (config.lora_bias && !module.paramOrNull('bias')) {
      warn(`\`lora_bias=True\` was passed but the targeted layer of type ${module.constructor.name} has no bias. This means that merging LoRA weights won't be possible.`);
    }
    const layer = createLoraLayer(name, module, config, warn);
    layer.updateLayer(adapterName, layerConfig, initialize);
    layer.setAdapter([adapterName]);
    model.replaceModule(name, layer);
  }
  if (selection.targetParameters.length > 0) checkTargetParametersAgree(config, options.otherConfigs ?? new Map());
  for (const key of selection.targetParameters) wrapParameter(model, key, config, adapterName, initialize);
  wrapModulesToSave(model, config, adapterName, options, warn);
  wrapTrainableTokens(model, config, adapterName);
}

/** PEFT's rule: every adapter that uses target_parameters targets the same set (the nesting encodes the keys). */
function checkTargetParametersAgree(config: LoraConfig, others: ReadonlyMap<string, LoraConfig>): void {
  const mine = [...new Set(config.target_parameters ?? [])].sort();
  for (const [name, other] of others) {
    if (other === config || !other.target_parameters || other.target_parameters.length === 0) continue;
    const theirs = [...new Set(other.target_parameters)].sort();
    if (theirs.join('\u0000') !== mine.join('\u0000')) {
      throw new PeftError('When using multiple adapters with `target_parameters`, all adapters must target the same set of parameters, ' +
        `but got ${JSON.stringify(mine)} for the new adapter and ${JSON.stringify(theirs)} for adapter '${name}'.`);
    }
  }
}

/**
 * target_parameters (PEFT's _inject_parameters): key is `<module path without .base_layer>.<parameter>`. A parameter
 * already wrapped (an earlier adapter) gets the adapter added; otherwise the module at that path (the owner, or a
 * wrapper of another of its parameters) is wrapped by a new LoraParamWrapper.
 */
function wrapParameter(model: Module, key: string, config: LoraConfig, adapterName: string, initialize: { initialize: boolean }): void {
  const cut = key.lastIndexOf('.');
  const [path, parameterName] = [key.slice(0, cut), key.slice(cut + 1)];
  const target = model.getSubmodule(path);
  if (target instanceof LoraLayer && !(target instanceof LoraParamWrapper)) {
    throw new PeftError(`Trying to wrap an \`nn.Parameter\` of layer '${path}' of type ${target.constructor.name}, which is not a valid target. ` +
      'Make sure that this layer is not also targeted with `target_modules`. For some models, PEFT will do this automatically, try setting `target_modules=[]` to prevent it.');
  }
  if (config.fan_in_fan_out) throw new PeftError('lora.ParamWrapper does not work with fan_in_fan_out.');
  const options = layerOptions(config, key);
  let existing: Module = target;
  while (existing instanceof LoraParamWrapper) {
    if (existing.parameterName === parameterName) {
      existing.updateLayer(adapterName, options, initialize);
      existing.setAdapter(existing.activeAdapters);
      return;
    }
    existing = existing.baseLayer;
  }
  const wrapper = new LoraParamWrapper(target, parameterName);
  wrapper.updateLayer(adapterName, options, initialize);
  wrapper.setAdapter([adapterName]);
  model.replaceModule(path, wrapper);
}

/** True when name lies inside a module that modules_to_save or trainable tokens already wrapped, or a LoRA layer. */
function insideWrapper(model: Module, name: string): boolean {
  const parts = name.split('.');
  for (let i = 1; i < parts.length; i++) {
    const m = model.getSubmodule(parts.slice(0, i).join('.'));
    if (m instanceof ModulesToSaveWrapper || m instanceof TrainableTokensWrapper || m instanceof LoraLayer) return true;
  }
  return false;
}

/**
 * modules_to_save, selected by matchModulesToSave: modules are wrapped as PEFT does (except a module inside one
 * already wrapped, where PEFT nests wrappers it cannot load back); an entry naming bare parameters wraps those.
 */
function wrapModulesToSave(model: Module, config: LoraConfig, adapterName: string, options: InjectOptions, warn: (m: string) => void): void {
  if (config.modules_to_save === null || config.modules_to_save.length === 0) return;
  const selection = matchModulesToSave(config.modules_to_save, {
    modules: describeModel(model).modules,
    parameters: model.namedParameters({ removeDuplicate: false }).map(([name]) => name),
  }, { adapterName, taskType: config.task_type, onUnmatched: options.lenientModulesToSave ? 'warn' : 'error' });
  for (const message of selection.warnings) warn(message);
  for (const name of selection.modules) {
    if (insideWrapper(model, name)) continue;
    const module = model.getSubmodule(name);
    const wrapper = module instanceof ModulesToSaveWrapper ? module : new ModulesToSaveWrapper(module);
    wrapper.addAdapter(adapterName);
    if (wrapper !== module) {
      model.replaceModule(name, wrapper);
      wrapper.setAdapter(adapterName);
    }
  }
  for (const path of selection.parameters) {
    let wrapper = options.parameterWrappers.get(path);
    if (!wrapper) {
      wrapper = new ParameterToSave(model, path);
      options.parameterWrappers.set(path, wrapper);
      wrapper.addAdapter(adapterName);
      wrapper.setAdapter(adapterName);
    } else {
      wrapper.addAdapter(adapterName);
    }
  }
}

/** trainable_token_indices (§4.5): a list applies to the input embedding; a dict maps module names to indices. */
function wrapTrainableTokens(model: Module, config: LoraConfig, adapterName: string): void {
  const spec = config.trainable_token_indices;
  if (spec === null) return;
  const embeddingNames = model.namedModules().filter(([, m]) => m instanceof Embedding || m instanceof TrainableTokensWrapper).map(([n]) => n);
  const targets: [string, number[]][] = [];
  if (Array.isArray(spec)) {
    const name = embeddingNames.find((n) => n.endsWith('embed_tokens')) ?? embeddingNames[0];
    if (name === undefined) throw new PeftError('trainable_token_indices: the model has no input embedding (no Embedding module)');
    targets.push([name, spec]);
  } else {
    for (const [entry, indices] of Object.entries(spec)) {
      const names = model.namedModules().map(([n]) => n).filter((n) => n === entry || n.endsWith(`.${entry}`));
      if (names.length === 0) throw new PeftError(`trainable_token_indices: '${entry}' matched no module of ${model.constructor.name}`);
      for (const name of names) targets.push([name, indices]);
    }
  }
  const modulesToSave = config.modules_to_save ?? [];
  for (const [name, indices] of targets) {
    if (modulesToSave.some((entry) => name.endsWith(entry))) {
      throw new PeftError(`The embedding layer ${name} is in modules_to_save and in trainable_token_indices; a module can only be one of them`);
    }
    const module = model.getSubmodule(name);
    const wrapper = module instanceof TrainableTokensWrapper ? module : new TrainableTokensWrapper(new TrainableTokensLayer(module, 'embedding'));
    wrapper.tokenAdapter.addAdapter(adapterName, indices, config.init_lora_weights !== false);
    if (wrapper !== module) model.replaceModule(name, wrapper);
    wrapper.setAdapter(wrapper.tokenAdapter.activeAdapter ?? adapterName);
    wrapTiedLayers(model, name, wrapper, adapterName);
  }
}

/** Layers tied to the embedding (lm_head sharing its matrix) follow its adapter, as PEFT does. */
function wrapTiedLayers(model: Module, embeddingName: string, embeddingWrapper: TrainableTokensWrapper, adapterName: string): void {
  const tied = tiedParametersOf(model);
  for (const [tiedPath, source] of tied) {
    if (source !== `${embeddingName}.weight`) continue;
    const layerName = tiedPath.slice(0, -'.weight'.length);
    const module = model.getSubmodule(layerName);
    if (module instanceof TrainableTokensWrapper) {
      module.setAdapter(module.tokenAdapter.activeAdapter ?? adapterName);
      continue;
    }
    const wrapper = new TrainableTokensWrapper(new TrainableTokensLayer(module, 'linear', embeddingWrapper.tokenAdapter));
    model.replaceModule(layerName, wrapper);
    wrapper.setAdapter(adapterName);
  }
}
