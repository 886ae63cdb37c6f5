// In-memory parameter names <-> keys saved in adapter_model.safetensors (spec/peft.md §2.3, §2.4, §2.6).
//
// In-memory names (with the adapter name, under the PeftModel prefix `base_model.model.`):
//   LoRA            P.lora_A.<adapter>.weight, P.lora_B.<adapter>.weight, P.lora_B.<adapter>.bias
//   LoRA Embedding  P.lora_embedding_A.<adapter>, P.lora_embedding_B.<adapter>
//   DoRA            P.lora_magnitude_vector.<adapter>.weight
//   modules_to_save M.modules_to_save.<adapter>.<sub>   (module copy, PEFT)
//                   Q.modules_to_save.<adapter>          (bare parameter Q, node-peft's extension)
//   trainable tokens E.token_adapter.trainable_tokens_delta.<adapter>
//   base tensors    P.base_layer.bias, E.base_layer.weight, X.bias (bias / embedding saving): no adapter name
// Saved keys drop the adapter name; DoRA drops `.weight`; copies are saved under the original's own key.
import type { LoraBias } from './config-fields.js';

/** Every PeftModel key starts with this (PeftModel.base_model = LoraModel, LoraModel.model = the user model). */
export const PEFT_PREFIX = 'base_model.model.';
export const MODULES_TO_SAVE = 'modules_to_save';
export const TRAINABLE_TOKENS_DELTA = 'token_adapter.trainable_tokens_delta';

export const addPeftPrefix = (name: string): string => (name.startsWith(PEFT_PREFIX) ? name : PEFT_PREFIX + name);
export const stripPeftPrefix = (name: string): string => (name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length) : name);

/**
 * PEFT's `_remove_adapter_name_from_state_dict_key` (since 0.18): drop `.<adapter>` at the end, else just before the
 * last component; never in the middle of the key (a module called like the adapter keeps its name).
 */
export function removeAdapterName(key: string, adapterName: string): string {
  if (!key.includes('.')) return key;
  if (key.endsWith(`.${adapterName}`)) return key.slice(0, -(adapterName.length + 1));
  const cut = key.lastIndexOf('.');
  const head = key.slice(0, cut);
  const last = key.slice(cut + 1);
  return `${head.endsWith(`.${adapterName}`) ? head.slice(0, -(adapterName.length + 1)) : head}.${last}`;
}

/** The in-memory name of module copy `sub` (e.g. 'weight') of the modules_to_save wrapper at `wrapperPath`. */
export const modulesToSaveName = (wrapperPath: string, adapterName: string, sub: string): string =>
  `${wrapperPath}.${MODULES_TO_SAVE}.${adapterName}.${sub}`;
/** The in-memory name of an adapter's copy of the bare parameter at `parameterPath` (node-peft's extension). */
export const parameterToSaveName = (parameterPath: string, adapterName: string): string => `${parameterPath}.${MODULES_TO_SAVE}.${adapterName}`;
export const trainableTokensName = (embeddingPath: string, adapterName: string): string => `${embeddingPath}.${TRAINABLE_TOKENS_DELTA}.${adapterName}`;

/**
 * The key an in-memory adapter tensor is saved under: module copies and parameter copies under the original's own
 * key, DoRA magnitudes without `.weight`, everything else by PEFT's adapter-name removal. The prefix is kept as given.
 */
export function savedKeyFor(inMemoryName: string, adapterName: string): string {
  const copyMarker = `.${MODULES_TO_SAVE}.${adapterName}`;
  const copyAt = inMemoryName.indexOf(`${copyMarker}.`);
  if (copyAt >= 0) return inMemoryName.slice(0, copyAt) + inMemoryName.slice(copyAt + copyMarker.length);
  if (inMemoryName.endsWith(copyMarker)) return inMemoryName.slice(0, -copyMarker.length);
  const doraSuffix = `lora_magnitude_vector.${adapterName}.weight`;
  const key = inMemoryName.endsWith(doraSuffix) ? inMemoryName.slice(0, -'.weight'.length) : inMemoryName;
  return removeAdapterName(key, adapterName);
}

/** True if an in-memory name belongs to `adapterName` (PEFT's filter: `.<name>.` inside or `.<name>` at the end). */
export function belongsToAdapter(name: string, adapterName: string): boolean {
  return name.includes(`.${adapterName}.`) || name.endsWith(`.${adapterName}`);
}

/**
 * PEFT's load-time map "saved key -> in-memory name" for one adapter (§2.6), built from the model's own names so
 * that save and load are symmetric. Only names of this adapter are mapped; when the names lack the
 * `base_model.model.` prefix, the prefixed saved key is registered too (PEFT does so for bare injected models).
 */
export function buildLoadKeyMap(inMemoryNames: Iterable<string>, adapterName: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of inMemoryNames) {
    if (!belongsToAdapter(name, adapterName)) continue;
    const saved = savedKeyFor(name, adapterName);
    map.set(saved, name);
    if (!name.startsWith(PEFT_PREFIX)) map.set(PEFT_PREFIX + saved, name);
  }
  return map;
}

export type AdapterKeyRole = 'lora' | 'modules_to_save' | 'parameter_to_save' | 'trainable_tokens' | 'base';

/** What an in-memory name holds, from its shape (see the naming scheme at the top of this file). */
export function adapterKeyRole(inMemoryName: string, adapterName: string): AdapterKeyRole {
  if (inMemoryName.includes(`.${MODULES_TO_SAVE}.${adapterName}.`)) return 'modules_to_save';
  if (inMemoryName.endsWith(`.${MODULES_TO_SAVE}.${adapterName}`)) return 'parameter_to_save';
  if (inMemoryName.endsWith(`.${TRAINABLE_TOKENS_DELTA}.${adapterName}`)) return 'trainable_tokens';
  return belongsToAdapter(inMemoryName, adapterName) ? 'lora' : 'base';
}

export interface AdapterLoadPlan {
  /** [saved key, in-memory name] pairs to copy. */
  assignments: [string, string][];
  /** Saved keys with no place in the model (PEFT reports them as unexpected and ignores them). */
  unexpected: string[];
  /** In-memory names of this adapter with no saved key, by role. PEFT: lora -> warning; modules_to_save -> KeyError. */
  missing: Record<Exclude<AdapterKeyRole, 'base'>, string[]>;
}

/**
 * Matches saved keys to a model's names for `adapterName` (§2.6): adapter keys through buildLoadKeyMap, other keys
 * (biases, embedding weights, and a parameter key when the model has no copy for it) by identical name, with the
 * `base_model.model.` prefix dropped when the model's names have none. `inMemoryNames` = the model's full state
 * dict names after injection.
 */
export function planAdapterLoad(savedKeys: Iterable<string>, inMemoryNames: readonly string[], adapterName: string): AdapterLoadPlan {
  const map = buildLoadKeyMap(inMemoryNames, adapterName);
  const present = new Set(inMemoryNames);
  const modelHasPrefix = inMemoryNames.some((n) => n.startsWith(PEFT_PREFIX));
  const assignments: [string, string][] = [];
  const unexpected: string[] = [];
  const loaded = new Set<string>();
  for (const saved of savedKeys) {
    let target = map.get(saved);
    if (target === undefined) {
      const direct = modelHasPrefix ? saved : stripPeftPrefix(saved);
      if (present.has(direct)) target = direct;
    }
    if (target === undefined) unexpected.push(saved);
    else {
      assignments.push([saved, target]);
      loaded.add(target);
    }
  }
  const missing: AdapterLoadPlan['missing'] = { lora: [], modules_to_save: [], parameter_to_save: [], trainable_tokens: [] };
  for (const name of new Set(map.values())) {
    if (loaded.has(name)) continue;
    const role = adapterKeyRole(name, adapterName);
    if (role !== 'base') missing[role].push(name);
  }
  return { assignments, unexpected, missing };
}

/**
 * PEFT ≤ 0.20's model-free adapter-name insertion for LoRA keys (still used by PEFT's hotswap): DoRA magnitude gets
 * `.weight`; for keys containing `lora_`, the name goes before the last component after the last `lora_...` part,
 * or at the end when that part has no dot (`lora_embedding_A`). Other keys pass through. Module copies need the
 * model (use buildLoadKeyMap).
 */
export function insertAdapterName(savedKey: string, adapterName: string): string {
  const key = savedKey.endsWith('lora_magnitude_vector') ? `${savedKey}.weight` : savedKey;
  const at = key.lastIndexOf('lora_');
  if (at < 0) return key;
  const tail = key.slice(at + 'lora_'.length);
  const dot = tail.indexOf('.');
  if (dot < 0) return `${key}.${adapterName}`;
  const suffix = tail.slice(dot + 1);
  return `${key.slice(0, key.length - suffix.length)}${adapterName}.${suffix}`;
}

export interface AdapterStateSelection {
  /** Full in-memory state dict names of the model (stateDict order). */
  names: readonly string[];
  adapterName: string;
  /** Every adapter name on the model (the saved one included or not). */
  allAdapterNames: readonly string[];
  /** Paths of the LoRA layers (their tensors, except base_layer, are the adapter's). */
  loraLayers: readonly string[];
  bias: LoraBias;
  /** Paths of modules_to_save wrappers (module-level). */
  moduleWrappers?: readonly string[];
  /** Paths of parameters saved whole (node-peft's parameter-level modules_to_save). */
  parameterWrappers?: readonly string[];
  /** Paths of embeddings wrapped for trainable_token_indices. */
  trainableTokenWrappers?: readonly string[];
  /** Module paths whose whole weights PEFT's save_embedding_layers adds (e.g. 'base_model.model.model.embed_tokens'). */
  embeddingLayers?: readonly string[];
}

/**
 * Which in-memory names PEFT saves for one adapter (§2.4), in `names` order: other adapters' names filtered out,
 * LoRA layer tensors (not base_layer), biases per `bias`, this adapter's copies and token deltas, embedding
 * layers. Map each through savedKeyFor to get the file's keys.
 */
export function selectAdapterStateNames(selection: AdapterStateSelection): string[] {
  const { adapterName, bias } = selection;
  const others = selection.allAdapterNames.filter((name) => name !== adapterName);
  const filtered = selection.names.filter((name) => !others.some((other) => belongsToAdapter(name, other)));
  const names = filtered.length > 0 ? filtered : [...selection.names];
  const loraPrefixes = selection.loraLayers.map((layer) => `${layer}.`);
  const loraBiases = new Set(selection.loraLayers.map((layer) => `${layer}.base_layer.bias`));
  const copies = new Set([
    ...(selection.parameterWrappers ?? []).map((p) => parameterToSaveName(p, adapterName)),
    ...(selection.trainableTokenWrappers ?? []).map((e) => trainableTokensName(e, adapterName)),
  ]);
  const copyPrefixes = (selection.moduleWrappers ?? []).map((w) => `${w}.${MODULES_TO_SAVE}.${adapterName}.`);
  const embeddingPrefixes = (selection.embeddingLayers ?? []).map((e) => `${e}.`);
  return names.filter((name) => {
    const isLoraTensor = loraPrefixes.some((prefix) => name.startsWith(prefix) && !name.startsWith(`${prefix}base_layer.`));
    if (isLoraTensor && !name.includes(`.${MODULES_TO_SAVE}.`)) return true;
    if (bias === 'all' && (name === 'bias' || name.endsWith('.bias')) && !name.includes('.original_module.')) return true;
    if (bias === 'lora_only' && loraBiases.has(name)) return true;
    if (copies.has(name) || copyPrefixes.some((prefix) => name.startsWith(prefix))) return true;
    return embeddingPrefixes.some((prefix) => name.startsWith(prefix));
  });
}
