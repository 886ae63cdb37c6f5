// getPeftModelStateDict / setPeftModelStateDict: the adapter's tensors under PEFT's saved keys
// (`base_model.model.<path>`, adapter name removed), built from the live model so save and load are symmetric.
import { PeftError, StateDictError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { adapterBiases } from './adapter-biases.js';
import { carrierKind, type SavedKeyKind } from './carrier.js';
import type { LoraConfig } from './config.js';
import type { AdapterHost } from './host.js';

export { savedLoraName } from './layers/lora-layer.js';
export type { SavedKeyKind } from './carrier.js';

export const PREFIX = 'base_model.model.';
/** PEFT's EMBEDDING_LAYER_NAMES: targeting one of these also saves the base embedding (save_embedding_layers='auto'). */
export const EMBEDDING_LAYER_NAMES = ['embed_tokens', 'lm_head'];

/** What the state-dict functions need from a PeftModel. */
export type PeftStateSource = Pick<AdapterHost, 'model' | 'peftConfig' | 'carriers'>;

export interface SavedEntry {
  tensor: Tensor;
  kind: SavedKeyKind;
  /** Copies a loaded value in (parameter copies check shapes and explain a mismatch); default: copy_. */
  load?: (value: Tensor, savedKey: string) => void;
}

function embeddingIsTargeted(config: LoraConfig, layerNames: string[]): boolean {
  const targets = config.target_modules;
  if (Array.isArray(targets)) return targets.some((t) => EMBEDDING_LAYER_NAMES.includes(t));
  return typeof targets === 'string' && layerNames.some((name) => EMBEDDING_LAYER_NAMES.includes(name.split('.').pop() as string));
}

/** Saved key → live tensor for one adapter (the map PEFT builds on save and inverts on load). */
export function adapterEntries(source: PeftStateSource, adapterName: string): Map<string, SavedEntry> {
  const config = source.peftConfig.get(adapterName);
  if (!config) throw new PeftError(`Adapter ${adapterName} does not exist (adapters: ${[...source.peftConfig.keys()].join(', ') || 'none'})`);
  const entries = new Map<string, SavedEntry>();
  const carriers = source.carriers();
  const holding = carriers.filter(([, c]) => c.hasAdapter(adapterName));
  for (const [path, carrier] of holding) {
    for (const { key, tensor, kind, load } of carrier.savedEntries(adapterName)) {
      entries.set(`${PREFIX}${path}${key === '' ? '' : `.${key}`}`, { tensor, kind, load });
    }
  }
  for (const [name, p] of adapterBiases(source.model, carriers, adapterName, config.bias)) entries.set(`${PREFIX}${name}`, { tensor: p, kind: 'bias' });
  const loraLayers = holding.filter(([, c]) => carrierKind(c) === 'lora').map(([path]) => path);
  if (embeddingIsTargeted(config, loraLayers)) {
    const embeddings = loraLayers.filter((path) => EMBEDDING_LAYER_NAMES.includes(path.split('.').pop() as string)).map((path) => `${path}.base_layer.`);
    for (const [name, p] of source.model.namedParameters({ removeDuplicate: false })) {
      if (embeddings.some((prefix) => name.startsWith(prefix))) entries.set(`${PREFIX}${name}`, { tensor: p, kind: 'embedding' });
    }
  }
  return entries;
}

/** The adapter's tensors under their saved keys (the live tensors; callers must not dispose them). */
export function getPeftModelStateDict(source: PeftStateSource, adapterName = 'default'): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, entry] of adapterEntries(source, adapterName)) out[key] = entry.tensor;
  return out;
}

export interface SetStateDictResult {
  /** Adapter keys the model has but the state dict lacks (their tensors keep their initial values). */
  missingKeys: string[];
  /** Keys of the state dict the model has no place for (ignored). */
  unexpectedKeys: string[];
  /** Human-readable notes (missing parameter copies, ...). */
  warnings: string[];
}

const SHOWN_KEYS = 3;

function listed(keys: string[], shapeOf: (key: string) => readonly number[]): string {
  const shown = keys.slice(0, SHOWN_KEYS).map((k) => `${k} [${shapeOf(k).join(', ')}]`);
  return `${shown.join(', ')}${keys.length > SHOWN_KEYS ? `, and ${keys.length - SHOWN_KEYS} more` : ''}`;
}

/**
 * Strict loading: every tensor of the file has a place in the adapter and every LoRA weight of the adapter is in
 * the file; otherwise a StateDictError naming the first keys on each side with their shapes (file, model).
 */
export function checkAdapterFits(source: PeftStateSource, stateDict: Record<string, Tensor>, adapterName = 'default'): void {
  const entries = adapterEntries(source, adapterName);
  const hasPrefix = Object.keys(stateDict).some((k) => k.startsWith(PREFIX));
  const given = new Map(Object.entries(stateDict).map(([k, t]) => [hasPrefix ? k : `${PREFIX}${k}`, t] as const));
  const unexpected = [...given.keys()].filter((k) => !entries.has(k));
  const missing = [...entries.keys()].filter((k) => !given.has(k) && entries.get(k)?.kind === 'lora');
  if (unexpected.length === 0 && missing.length === 0) return;
  const parts: string[] = [];
  if (unexpected.length > 0) {
    parts.push(`${unexpected.length} tensor(s) in the file have no place in the model: ${listed(unexpected, (k) => (given.get(k) as Tensor).shape)}`);
  }
  if (missing.length > 0) {
    parts.push(`${missing.length} LoRA weight(s) of the model are not in the file and would stay uninitialised: ${listed(missing, (k) => (entries.get(k) as SavedEntry).tensor.shape)}`);
  }
  throw new StateDictError(
    `adapter '${adapterName}' does not fit this model (was it trained for another model, or its target_modules edited?): ${parts.join('; ')}. ` +
      'Load with strict: false to accept this (PEFT warns and continues).',
  );
}

/**
 * Copies saved tensors into the adapter's live tensors. Shapes must match (StateDictError naming the key and both
 * shapes); a module_to_save with no tensors in the file is an error, as in PEFT. The input is not modified.
 */
export function setPeftModelStateDict(source: PeftStateSource, stateDict: Record<string, Tensor>, adapterName = 'default'): SetStateDictResult {
  const entries = adapterEntries(source, adapterName);
  const hasPrefix = Object.keys(stateDict).some((k) => k.startsWith(PREFIX));
  const keyOf = (k: string): string => (hasPrefix ? k : `${PREFIX}${k}`);
  const given = new Map(Object.entries(stateDict).map(([k, t]) => [keyOf(k), t] as const));
  const warnings: string[] = [];
  const missingKeys: string[] = [];
  const problems: string[] = [];
  for (const [key, entry] of entries) {
    const value = given.get(key);
    if (!value) {
      missingKeys.push(key);
      continue;
    }
    if (entry.load) continue;
    if (value.shape.join(',') !== entry.tensor.shape.join(',')) {
      problems.push(`size mismatch for ${key}: copying a param with shape [${value.shape.join(', ')}] from checkpoint, the shape in current model is [${entry.tensor.shape.join(', ')}].`);
    }
  }
  const missingWrapped = missingKeys.filter((k) => entries.get(k)?.kind === 'module_to_save');
  if (missingWrapped.length > 0) {
    throw new StateDictError(`modules_to_save: the adapter has no tensors for ${missingWrapped.join(', ')} (the config lists the module, so PEFT requires them)`);
  }
  if (problems.length > 0) {
    const count = `${problems.length} size mismatch${problems.length === 1 ? '' : 'es'}`;
    throw new StateDictError(`Error(s) in loading adapter '${adapterName}' (${count}: were its r or target_modules changed?):\n\t${problems.join('\n\t')}`);
  }
  noGrad(() => {
    for (const [key, entry] of entries) {
      const value = given.get(key);
      if (!value) continue;
      if (entry.load) entry.load(value, key);
      else entry.tensor.copy_(value);
    }
  });
  for (const key of missingKeys) {
    const entry = entries.get(key) as SavedEntry;
    if (entry.kind === 'parameter_to_save') {
      warnings.push(
        `modules_to_save parameter ${key.slice(PREFIX.length)}: the adapter holds no tensor for it (Python PEFT ignores parameter entries and ` +
          'never saves them); the copy keeps the base model\'s values.',
      );
    }
  }
  const unexpectedKeys = [...given.keys()].filter((k) => !entries.has(k));
  return { missingKeys, unexpectedKeys, warnings };
}
