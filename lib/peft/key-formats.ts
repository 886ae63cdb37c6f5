// Adapter names across transformers eras. transformers 5 renamed ViT's modules in memory (encoder.layer.N.attention.
// attention.query -> layers.N.attention.q_proj ...); PEFT adapters store in-memory names, so a ViT adapter written
// on transformers 4 names its keys and target_modules the old way. node-peft holds transformers-5 names in memory and
// converts adapters of the old era on load, and can write them (`keyFormat: 'transformers4'`) on save.
import { PeftError } from '../errors.js';

export type KeyFormat = 'transformers5' | 'transformers4';

/** model_type values (config.json) whose adapters differ between the eras. */
export const RENAMED_MODEL_TYPES: readonly string[] = ['vit'];

// Inside one encoder layer: old relative path -> new relative path (leaves and the containers with a counterpart).
const LAYER_RENAMES: readonly (readonly [string, string])[] = [
  ['attention.attention.query', 'attention.q_proj'],
  ['attention.attention.key', 'attention.k_proj'],
  ['attention.attention.value', 'attention.v_proj'],
  ['attention.output.dense', 'attention.o_proj'],
  ['intermediate.dense', 'mlp.fc1'],
  ['output.dense', 'mlp.fc2'],
  ['layernorm_before', 'layernorm_before'],
  ['layernorm_after', 'layernorm_after'],
  ['attention', 'attention'],
];
// Old containers with no single new counterpart (and the reverse).
const OLD_ONLY = ['attention.attention', 'attention.output', 'intermediate', 'output'];
const NEW_ONLY = ['mlp'];

const OLD_LAYER = /(^|\.)encoder\.layer\.(\d+)(?=\.|$)/;
const NEW_LAYER = /(^|\.)layers\.(\d+)(?=\.|$)/;

function renameInLayer(name: string, direction: KeyFormat): string {
  const [layerRe, pairs, orphans, newLayer] =
    direction === 'transformers5'
      ? [OLD_LAYER, LAYER_RENAMES, OLD_ONLY, (n: string) => `layers.${n}`]
      : [NEW_LAYER, LAYER_RENAMES.map(([a, b]) => [b, a] as const), NEW_ONLY, (n: string) => `encoder.layer.${n}`];
  const match = layerRe.exec(name);
  if (!match) return name;
  const head = name.slice(0, match.index) + match[1]! + newLayer(match[2]!);
  const rest = name.slice(match.index + match[0].length);
  if (rest === '') return head;
  const inner = rest.slice(1);
  for (const [from, to] of pairs) {
    if (inner === from || inner.startsWith(`${from}.`)) {
      const tail = inner.slice(from.length);
      if (from === 'attention' && tail !== '' && !/^\.(lora_|base_layer|modules_to_save|original_module)/.test(tail)) continue;
      return `${head}.${to}${tail}`;
    }
  }
  if (orphans.some((o) => inner === o || inner.startsWith(`${o}.`))) {
    throw new PeftError(`cannot convert '${name}' to ${direction} names: '${inner}' has no counterpart there`);
  }
  return `${head}${rest}`;
}

/**
 * Converts a full dotted name (module path, parameter name or adapter key, with or without `base_model.model.`)
 * from one ViT naming era to the other. Names outside the encoder layers are unchanged.
 */
export function convertVitName(name: string, to: KeyFormat): string {
  return renameInLayer(name, to);
}

// Short (suffix) target_modules / modules_to_save entries. old -> new entries matching the same ViT modules.
const OLD_TO_NEW_ENTRIES: Record<string, string[]> = {
  query: ['q_proj'], 'attention.query': ['q_proj'], 'attention.attention.query': ['q_proj'],
  key: ['k_proj'], 'attention.key': ['k_proj'], 'attention.attention.key': ['k_proj'],
  value: ['v_proj'], 'attention.value': ['v_proj'], 'attention.attention.value': ['v_proj'],
  'attention.output.dense': ['o_proj'],
  'intermediate.dense': ['fc1'],
  'output.dense': ['o_proj', 'fc2'],
  // 'dense' also names the pooler's Linear (pooler.dense), which keeps its name.
  dense: ['o_proj', 'fc1', 'fc2', 'dense'],
};
const NEW_TO_OLD_ENTRIES: Record<string, string[]> = {
  q_proj: ['query'], 'attention.q_proj': ['query'],
  k_proj: ['key'], 'attention.k_proj': ['key'],
  v_proj: ['value'], 'attention.v_proj': ['value'],
  o_proj: ['attention.output.dense'], 'attention.o_proj': ['attention.output.dense'],
  fc1: ['intermediate.dense'], 'mlp.fc1': ['intermediate.dense'],
};
// New entries whose old modules no old suffix separates from others ('output.dense' also hits attention.output.dense).
const NEW_NEEDS_FULL_NAMES = new Set(['fc2', 'mlp.fc2', 'mlp']);
const OLD_NEEDS_FULL_NAMES = new Set(['attention.attention', 'attention.output', 'intermediate', 'output']);

export interface ConvertEntriesOptions {
  /**
   * The model's module names as held in memory (transformers-5 names). Needed only for entries no suffix can
   * express in the other era (new 'fc2' in old names, where 'output.dense' also matches the attention output; old
   * 'intermediate' in new names): they become the full names of the modules they match.
   */
  moduleNames?: readonly string[];
}

function endsAt(name: string, entry: string): boolean {
  return name === entry || name.endsWith(`.${entry}`);
}

/**
 * Converts list entries of target_modules / exclude_modules / modules_to_save between the ViT eras so that they
 * select the same modules: full names are renamed, known short names mapped (old 'query' <-> new 'q_proj'), others
 * kept. A regex string cannot be rewritten safely and is refused if it mentions renamed parts.
 */
export function convertVitEntries<T extends string[] | string | null>(entries: T, to: KeyFormat, options: ConvertEntriesOptions = {}): T {
  if (entries === null) return entries;
  if (typeof entries === 'string') {
    const renamed = to === 'transformers5' ? /query|key|value|encoder|intermediate|output|dense/ : /q_proj|k_proj|v_proj|o_proj|fc1|fc2|mlp|layers/;
    if (entries.toLowerCase() !== 'all-linear' && renamed.test(entries)) {
      throw new PeftError(`cannot convert the regex target_modules ${JSON.stringify(entries)} to ${to} ViT names; write it as a list of module names`);
    }
    return entries;
  }
  const table = to === 'transformers5' ? OLD_TO_NEW_ENTRIES : NEW_TO_OLD_ENTRIES;
  const needsFull = to === 'transformers5' ? OLD_NEEDS_FULL_NAMES : NEW_NEEDS_FULL_NAMES;
  const layerRe = to === 'transformers5' ? OLD_LAYER : NEW_LAYER;
  const out: string[] = [];
  for (const entry of entries) {
    if (layerRe.test(entry)) out.push(convertVitName(entry, to));
    else if (table[entry]) out.push(...table[entry]!);
    else if (needsFull.has(entry)) {
      if (!options.moduleNames) {
        throw new PeftError(`cannot convert the entry '${entry}' to ${to} ViT names without the model's module names (options.moduleNames)`);
      }
      const matched: string[] = [];
      for (const name of options.moduleNames) {
        let old: string;
        try {
          old = convertVitName(name, 'transformers4');
        } catch {
          continue;
        }
        if (endsAt(to === 'transformers4' ? name : old, entry)) matched.push(to === 'transformers4' ? old : name);
      }
      out.push(...matched);
    } else out.push(entry);
  }
  return [...new Set(out)] as T;
}

/** Renames every adapter key (e.g. a safetensors key list) between the ViT eras. */
export function convertVitKeys(keys: Iterable<string>, to: KeyFormat): string[] {
  return [...keys].map((key) => convertVitName(key, to));
}
