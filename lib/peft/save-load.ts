// savePretrained / loadAdapter / fromPretrained: adapter folders exactly as PEFT writes and reads them
// (adapter_config.json + adapter_model.safetensors with {"format":"pt"}; non-default adapters in sub-folders).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { PeftError } from '../errors.js';
import { resolveAdapterDir } from '../hub/index.js';
import type { Module } from '../nn/module.js';
import { load, loadSync, save } from '../serialization/index.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { LoraConfig, loraConfigToJson, loraConfigToObject, parseLoraConfig } from './config.js';
import { convertVitEntries, convertVitName, type KeyFormat, RENAMED_MODEL_TYPES } from './key-formats.js';
import { PeftModel, type PeftModelOptions } from './peft-model.js';
import type { LoraLayer } from './layers/lora-layer.js';
import { getPeftModelStateDict, PREFIX, setPeftModelStateDict, type SetStateDictResult } from './state-dict.js';

export const CONFIG_NAME = 'adapter_config.json';
export const WEIGHTS_NAME = 'adapter_model.safetensors';

export interface SavePretrainedOptions {
  /** Adapters to save (default: all). `default` goes to dir itself, any other name to dir/<name>. */
  selectedAdapters?: string[];
  /** 'transformers4': ViT keys and target_modules in the old (transformers 4) names. Default: current names. */
  keyFormat?: KeyFormat;
}

export interface LoadAdapterOptions {
  /** Trainable after loading (default false: frozen, as PEFT). */
  isTrainable?: boolean;
  /** Use this config instead of dir/adapter_config.json. */
  config?: LoraConfig;
}

function modelType(model: Module): string | null {
  const config = (model as Module & { config?: { model_type?: unknown } }).config;
  return typeof config?.model_type === 'string' ? config.model_type : null;
}

function architecture(model: Module): string {
  const arch = (model as Module & { architecture?: unknown }).architecture;
  return typeof arch === 'string' ? arch : model.constructor.name;
}

function hasEraNames(model: Module): boolean {
  const type = modelType(model);
  return type !== null && RENAMED_MODEL_TYPES.includes(type);
}

/** A copy of the config as written: inference_mode true, auto_mapping when task_type is null, names per keyFormat. */
function configToWrite(peft: PeftModel, config: LoraConfig, keyFormat: KeyFormat): LoraConfig {
  const out = new LoraConfig(loraConfigToObject(config) as Partial<LoraConfig>, { warn: () => undefined });
  out.inference_mode = true;
  if (out.task_type === null) {
    const type = modelType(peft.model);
    out.auto_mapping = {
      base_model_class: architecture(peft.model),
      parent_library: type === null ? '__main__' : `transformers.models.${type}.modeling_${type}`,
    };
  }
  if (keyFormat === 'transformers4' && hasEraNames(peft.model)) {
    const moduleNames = peft.model.namedModules().map(([n]) => n);
    out.target_modules = convertVitEntries(out.target_modules, 'transformers4', { moduleNames });
    out.modules_to_save = convertVitEntries(out.modules_to_save, 'transformers4', { moduleNames });
    out.exclude_modules = convertVitEntries(out.exclude_modules, 'transformers4', { moduleNames });
  }
  return out;
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/** Writes each selected adapter as PEFT's save_pretrained does. */
export async function savePretrained(peft: PeftModel, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const names = options.selectedAdapters ?? [...peft.peftConfig.keys()];
  const keyFormat = options.keyFormat ?? 'transformers5';
  if (keyFormat !== 'transformers5' && keyFormat !== 'transformers4') {
    throw new PeftError(`savePretrained: keyFormat must be 'transformers5' or 'transformers4', got ${JSON.stringify(keyFormat)}`);
  }
  for (const name of names) {
    const config = peft.peftConfig.get(name);
    if (!config) throw new PeftError(`savePretrained: adapter '${name}' does not exist (adapters: ${[...peft.peftConfig.keys()].join(', ')})`);
    const outDir = name === 'default' ? dir : join(dir, name);
    await mkdir(outDir, { recursive: true });
    const live = getPeftModelStateDict(peft, name);
    const tensors: Record<string, Tensor> = {};
    noGrad(() => {
      for (const [key, t] of Object.entries(live)) {
        const saved = keyFormat === 'transformers4' && hasEraNames(peft.model) ? convertVitName(key, 'transformers4') : key;
        tensors[saved] = t.contiguous().clone();
      }
    });
    try {
      await save(join(outDir, WEIGHTS_NAME), tensors, { format: 'pt' });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
    await writeTextAtomic(join(outDir, CONFIG_NAME), loraConfigToJson(configToWrite(peft, config, keyFormat)));
  }
}

/** Reads dir/adapter_config.json as PEFT does (unknown fields dropped with a warning). */
export async function readAdapterConfig(dir: string, warn?: (m: string) => void): Promise<LoraConfig> {
  const path = join(dir, CONFIG_NAME);
  if (!existsSync(path)) throw new PeftError(`Can't find '${CONFIG_NAME}' at '${dir}'`);
  // Read synchronously: a few hundred bytes, where each thread-pool round trip of an async read costs more.
  return parseLoraConfig(readFileSync(path, 'utf8'), { warn }).config;
}

/** Converts a transformers-4-era ViT adapter (config and keys) to the current names, in place. */
function convertLegacyAdapter(model: Module, config: LoraConfig, tensors: Record<string, Tensor>): Record<string, Tensor> {
  if (!hasEraNames(model) || !Object.keys(tensors).some((k) => k.includes('.encoder.layer.'))) return tensors;
  const moduleNames = model.namedModules().map(([n]) => n);
  config.target_modules = convertVitEntries(config.target_modules, 'transformers5', { moduleNames });
  config.modules_to_save = convertVitEntries(config.modules_to_save, 'transformers5', { moduleNames });
  config.exclude_modules = convertVitEntries(config.exclude_modules, 'transformers5', { moduleNames });
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [convertVitName(k, 'transformers5'), t]));
}

/** Adapter files up to this size are read synchronously. */
const SYNC_READ_BYTES = 16 * 1024 * 1024;

async function readWeights(dir: string): Promise<Record<string, Tensor>> {
  const path = join(dir, WEIGHTS_NAME);
  if (!existsSync(path)) throw new PeftError(`Can't find '${WEIGHTS_NAME}' at '${dir}'`);
  // A small adapter is read in one blocking call (about a millisecond for SYNC_READ_BYTES): the async reader's
  // thread-pool round trips (open, stat, header, data, close) cost more than that. Larger files don't block.
  return statSync(path).size <= SYNC_READ_BYTES ? loadSync(path) : load(path);
}

/**
 * The adapter was added with uninitialised LoRA tensors (loading): copies the saved tensors in; a LoRA layer the file
 * has no tensors for is initialised as a fresh adapter first (and what the file does hold is copied in again).
 */
function applyWeights(peft: PeftModel, adapterName: string, tensors: Record<string, Tensor>): SetStateDictResult {
  try {
    let result = setPeftModelStateDict(peft, tensors, adapterName);
    const missingLora = result.missingKeys.filter((k) => k.includes('lora_'));
    if (missingLora.length > 0) {
      peft.warn(`Found missing adapter keys while loading the checkpoint: ${missingLora.join(', ')}`);
      const layers = new Set(missingLora.map((k) => k.slice(PREFIX.length, k.indexOf('.lora_'))));
      for (const path of layers) (peft.model.getSubmodule(path) as LoraLayer).resetLoraParameters(adapterName);
      result = setPeftModelStateDict(peft, tensors, adapterName);
    }
    for (const message of result.warnings) peft.warn(message);
    return result;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Loads another adapter from dir (not activated; frozen unless isTrainable). PEFT's load_adapter. */
export async function loadAdapter(peft: PeftModel, dir: string, adapterName: string, options: LoadAdapterOptions = {}): Promise<SetStateDictResult> {
  const config = options.config ?? (await readAdapterConfig(dir, peft.warn));
  const tensors = convertLegacyAdapter(peft.model, config, await readWeights(dir));
  config.inference_mode = !(options.isTrainable ?? false);
  try {
    peft.addAdapter(adapterName, config, { loading: true });
  } catch (error) {
    for (const t of Object.values(tensors)) t.dispose();
    throw error;
  }
  try {
    return applyWeights(peft, adapterName, tensors);
  } catch (error) {
    peft.deleteAdapter(adapterName);
    throw error;
  }
}

export interface FromPretrainedOptions extends LoadAdapterOptions, PeftModelOptions {
  adapterName?: string;
  /** Hub revision when `dir` is a repo id ('org/adapter'). */
  revision?: string;
}

/** base model + adapter folder → PeftModel (frozen and in eval mode unless isTrainable), as PEFT's from_pretrained. */
export async function fromPretrained<M extends Module>(model: M, dirOrRepo: string, options: FromPretrainedOptions = {}): Promise<PeftModel<M>> {
  const dir = await resolveAdapterDir(dirOrRepo, { revision: options.revision });
  const adapterName = options.adapterName ?? 'default';
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'PeftWarning'));
  const config = options.config ?? (await readAdapterConfig(dir, warn));
  const tensors = convertLegacyAdapter(model, config, await readWeights(dir));
  const isTrainable = options.isTrainable ?? false;
  config.inference_mode = !isTrainable;
  let peft: PeftModel<M>;
  try {
    peft = new PeftModel(model, config, adapterName, { warn, loading: true });
  } catch (error) {
    for (const t of Object.values(tensors)) t.dispose();
    throw error;
  }
  applyWeights(peft, adapterName, tensors);
  if (!isTrainable) peft.eval();
  return peft;
}
