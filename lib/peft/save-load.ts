// savePretrained / loadAdapter / fromPretrained: adapter folders exactly as PEFT writes and reads them
// (adapter_config.json + adapter_model.safetensors with {"format":"pt"}; non-default adapters in sub-folders).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PeftError } from '../errors.js';
import { resolveAdapterDir } from '../hub/index.js';
import type { Module } from '../nn/module.js';
import { load, loadSync, loadTorchPickle, replaceFolder, resolveFolder, save, writeTextFileAtomic } from '../serialization/index.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { cloneLoraConfig, LoraConfig, loraConfigToJson, parseLoraConfig } from './config.js';
import type { AdapterHost } from './host.js';
import { convertMutatedInit } from './init-conversion.js';
import { convertVitEntries, convertVitName, type KeyFormat, RENAMED_MODEL_TYPES } from './key-formats.js';
import { checkAdapterArgument, checkLoadArguments } from './forward-inputs.js';
import { checkAdapterFits, getPeftModelStateDict, PREFIX, setPeftModelStateDict, type SetStateDictResult } from './state-dict.js';

export const CONFIG_NAME = 'adapter_config.json';
export const WEIGHTS_NAME = 'adapter_model.safetensors';
export const BIN_WEIGHTS_NAME = 'adapter_model.bin';

export interface SavePretrainedOptions {
  /** Adapters to save (default: all). `default` goes to dir itself, any other name to dir/<name>. */
  selectedAdapters?: string[];
  /** 'transformers4': ViT keys and target_modules in the old (transformers 4) names. Default: current names. */
  keyFormat?: KeyFormat;
  /**
   * A PiSSA / OLoRA adapter's folder as saved right after initialisation: the adapter is written converted to a
   * plain LoRA adapter (rank 2r) for the unchanged base model (PEFT's path_initial_model_for_weight_conversion).
   */
  initialAdapterDir?: string;
}

export interface LoadAdapterOptions {
  /** Trainable after loading (default false: frozen, as PEFT). */
  isTrainable?: boolean;
  /** Use this config instead of dir/adapter_config.json. */
  config?: LoraConfig;
  /**
   * true: a tensor in the file that the model has no place for, or a LoRA weight of the model the file lacks, is a
   * StateDictError naming the first keys and their shapes (the CLI and the server load this way). Default false:
   * PEFT's behaviour, a warning, and LoRA weights the file lacks start freshly initialised.
   */
  strict?: boolean;
  /** Hub revision when the folder is given as a repo id ('org/adapter'). */
  revision?: string;
}

/** The files of an adapter folder; what a save replaces (other entries in the folder are kept). */
const ADAPTER_FILES = new Set([CONFIG_NAME, WEIGHTS_NAME, BIN_WEIGHTS_NAME]);

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
function configToWrite(peft: AdapterHost, config: LoraConfig, keyFormat: KeyFormat): LoraConfig {
  const out = cloneLoraConfig(config);
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

/**
 * Writes each selected adapter as PEFT's save_pretrained does. Each adapter folder is replaced as a whole
 * (serialization/replace-folder.ts): after a crash it holds the old adapter or the new one; other files in it stay.
 */
export async function savePretrained(peft: AdapterHost, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const names = options.selectedAdapters ?? [...peft.peftConfig.keys()];
  const keyFormat = options.keyFormat ?? 'transformers5';
  if (keyFormat !== 'transformers5' && keyFormat !== 'transformers4') {
    throw new PeftError(`savePretrained: keyFormat must be 'transformers5' or 'transformers4', got ${JSON.stringify(keyFormat)}`);
  }
  for (const name of names) {
    const config = peft.peftConfig.get(name);
    if (!config) throw new PeftError(`savePretrained: adapter '${name}' does not exist (adapters: ${[...peft.peftConfig.keys()].join(', ')})`);
    const outDir = name === 'default' ? dir : join(dir, name);
    const live = getPeftModelStateDict(peft, name);
    let tensors: Record<string, Tensor> = {};
    noGrad(() => {
      for (const [key, t] of Object.entries(live)) {
        const saved = keyFormat === 'transformers4' && hasEraNames(peft.model) ? convertVitName(key, 'transformers4') : key;
        tensors[saved] = t.contiguous().clone();
      }
    });
    const written = configToWrite(peft, config, keyFormat);
    if (options.initialAdapterDir !== undefined) tensors = convertMutatedInit(written, tensors, options.initialAdapterDir, peft.warn);
    try {
      const configText = loraConfigToJson(written);
      await replaceFolder(outDir, async (staging) => {
        await save(join(staging, WEIGHTS_NAME), tensors, { format: 'pt' });
        await writeTextFileAtomic(join(staging, CONFIG_NAME), configText);
      }, { owns: (entry) => ADAPTER_FILES.has(entry) });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }
}

/** Reads dir/adapter_config.json as PEFT does (unknown fields dropped with a warning). */
export async function readAdapterConfig(dir: string, warn?: (m: string) => void): Promise<LoraConfig> {
  const path = join(resolveFolder(dir), CONFIG_NAME);
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
  // adapter_model.bin (torch.save) only when there is no safetensors file, as PEFT; read without running code.
  if (!existsSync(path) && existsSync(join(dir, BIN_WEIGHTS_NAME))) return loadTorchPickle(join(dir, BIN_WEIGHTS_NAME));
  if (!existsSync(path)) throw new PeftError(`Can't find '${WEIGHTS_NAME}' (or '${BIN_WEIGHTS_NAME}') at '${dir}'`);
  // A small adapter is read in one blocking call (about a millisecond for SYNC_READ_BYTES): the async reader's
  // thread-pool round trips (open, stat, header, data, close) cost more than that. Larger files don't block.
  return statSync(path).size <= SYNC_READ_BYTES ? loadSync(path) : load(path);
}

/**
 * The adapter was added with uninitialised LoRA tensors (loading): copies the saved tensors in; a LoRA layer the file
 * has no tensors for is initialised as a fresh adapter first (and what the file does hold is copied in again).
 */
export function applyWeights(peft: AdapterHost, adapterName: string, tensors: Record<string, Tensor>, source: string, strict: boolean): SetStateDictResult {
  try {
    if (strict) checkAdapterFits(peft, tensors, adapterName);
    let result = setPeftModelStateDict(peft, tensors, adapterName);
    if (result.unexpectedKeys.length > 0) {
      peft.warn(`Loading adapter weights from ${source} led to unexpected keys not found in the model: ${result.unexpectedKeys.join(', ')}.`);
    }
    const missingLora = result.missingKeys.filter((k) => k.includes('lora_'));
    if (missingLora.length > 0) {
      peft.warn(`Found missing adapter keys while loading the checkpoint: ${missingLora.join(', ')}`);
      const layers = new Set(missingLora.map((k) => k.slice(PREFIX.length, k.indexOf('.lora_'))));
      for (const [path, carrier] of peft.carriers()) if (layers.has(path)) carrier.resetAdapter(adapterName);
      result = setPeftModelStateDict(peft, tensors, adapterName);
    }
    for (const message of result.warnings) peft.warn(message);
    return result;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** An adapter folder read for a model: its config (a copy of options.config if given) and tensors, legacy names converted. */
function folderIdentity(dir: string): string {
  try {
    const stat = statSync(dir);
    return `${stat.dev}:${stat.ino}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * The config and tensors of one version of an adapter folder: a save replaces the folder (a new inode), so a folder
 * that changed while it was read is read again, and config and weights never come from different saves.
 */
async function readAdapterFolder(dir: string, given: LoraConfig | undefined, warn?: (m: string) => void): Promise<{ config: LoraConfig; tensors: Record<string, Tensor> }> {
  for (let attempt = 1; ; attempt += 1) {
    const source = resolveFolder(dir);
    const before = folderIdentity(source);
    const config = given ? cloneLoraConfig(given) : await readAdapterConfig(source, warn);
    const tensors = await readWeights(source);
    if (folderIdentity(source) === before || attempt === 3) return { config, tensors };
    for (const t of Object.values(tensors)) t.dispose();
  }
}

export async function readAdapter(model: Module, dir: string, options: LoadAdapterOptions & { warn?: (m: string) => void }): Promise<{ config: LoraConfig; tensors: Record<string, Tensor> }> {
  const local = await resolveAdapterDir(dir, { revision: options.revision });
  const read = await readAdapterFolder(local, options.config, options.warn);
  const config = read.config;
  const tensors = convertLegacyAdapter(model, config, read.tensors);
  config.inference_mode = !(options.isTrainable ?? false);
  return { config, tensors };
}

/** Loads another adapter from dir (not activated; frozen unless isTrainable). PEFT's load_adapter. */
export async function loadAdapter(peft: AdapterHost, dir: string, adapterName: string, options: LoadAdapterOptions = {}): Promise<SetStateDictResult> {
  checkLoadArguments('loadAdapter', dir, options as Record<string, unknown>);
  checkAdapterArgument('loadAdapter', adapterName);
  const { config, tensors } = await readAdapter(peft.model, dir, { ...options, warn: peft.warn });
  try {
    peft.addAdapter(adapterName, config, { loading: true });
  } catch (error) {
    for (const t of Object.values(tensors)) t.dispose();
    throw error;
  }
  try {
    return applyWeights(peft, adapterName, tensors, dir, options.strict ?? false);
  } catch (error) {
    peft.discardAdapter(adapterName);
    throw error;
  }
}

export interface FromPretrainedOptions extends LoadAdapterOptions {
  adapterName?: string;
  /** Where PEFT-style warnings go (default: process.emitWarning). */
  warn?: (message: string) => void;
}
