// The fields of PEFT 0.21's LoraConfig as written to adapter_config.json: on-disk name, default, the release that
// introduced it, and a check of the value a file or a caller gives.
import { PeftError } from '../errors.js';
import type { JsonObject, JsonValue } from '../serialization/python-json.js';
import { assertPythonRegex } from './python-regex.js';

export const TASK_TYPES = ['SEQ_CLS', 'SEQ_2_SEQ_LM', 'CAUSAL_LM', 'TOKEN_CLS', 'QUESTION_ANS', 'FEATURE_EXTRACTION'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export type LoraBias = 'none' | 'all' | 'lora_only';

/** Every field PEFT 0.21 writes to adapter_config.json, with its on-disk (snake_case) name. */
export interface LoraConfigFields {
  task_type: TaskType | null;
  peft_type: 'LORA';
  auto_mapping: JsonObject | null;
  peft_version: string;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  r: number;
  /** List: whole names or dot-bounded suffixes. String: a Python regex that must match the whole name, or 'all-linear'. */
  target_modules: string[] | string | null;
  exclude_modules: string[] | string | null;
  lora_alpha: number;
  lora_dropout: number;
  fan_in_fan_out: boolean;
  bias: LoraBias;
  use_rslora: boolean;
  modules_to_save: string[] | null;
  init_lora_weights: boolean | string;
  layers_to_transform: number | number[] | null;
  layers_pattern: string | string[] | null;
  /** Regex key -> rank; the first key (insertion order) whose pattern matches a dotted suffix of the name wins. */
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  megatron_config: JsonObject | null;
  megatron_core: string | null;
  trainable_token_indices: number[] | Record<string, number[]> | null;
  loftq_config: JsonObject;
  eva_config: JsonObject | null;
  corda_config: JsonObject | null;
  lora_ga_config: JsonObject | null;
  use_dora: boolean;
  velora_config: JsonObject | null;
  alora_invocation_tokens: number[] | null;
  use_qalora: boolean;
  qalora_group_size: number;
  monteclora_config: JsonObject | null;
  layer_replication: [number, number][] | null;
  lora_bias: boolean;
  target_parameters: string[] | null;
  use_bdlora: JsonObject | null;
  arrow_config: JsonObject | null;
  kasa_config: JsonObject | null;
  ensure_weight_tying: boolean;
}

export type LoraConfigField = keyof LoraConfigFields;

/** The PEFT release whose adapter_config.json format we write (its `peft_version` unless the config holds one). */
export const PEFT_FORMAT_VERSION = '0.21.0';

interface FieldSpec<K extends LoraConfigField> {
  default: () => LoraConfigFields[K];
  /** First PEFT release that knows the field ('0.6' = present in every release we care about). */
  since: string;
  /** Returns the normalized value or throws PeftError naming the field. */
  check: (value: unknown, field: K) => LoraConfigFields[K];
}

type FieldSpecs = { [K in LoraConfigField]: FieldSpec<K> };

export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `array ${truncate(JSON.stringify(value))}`;
  if (typeof value === 'object') return `object ${truncate(JSON.stringify(value))}`;
  return typeof value;
}

function truncate(text: string | undefined): string {
  if (text === undefined) return '?';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function invalid(field: string, expected: string, got: unknown): PeftError {
  return new PeftError(`LoraConfig.${field}: expected ${expected}, got ${describeValue(got)}`);
}

const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function isJsonValue(v: unknown): v is JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJsonValue);
  return isJsonObject(v) && Object.values(v).every(isJsonValue);
}

const bool = (v: unknown, f: string): boolean => {
  if (typeof v !== 'boolean') throw invalid(f, 'true or false', v);
  return v;
};
const int = (v: unknown, f: string, min = -Infinity): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw invalid(f, min === 1 ? 'a positive integer' : min === 0 ? 'an integer >= 0' : 'an integer', v);
  return v;
};
const finite = (v: unknown, f: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(f, 'a finite number', v);
  return v;
};
const nullable = <T>(check: (v: unknown, f: string) => T) => (v: unknown, f: string): T | null => (v === null ? null : check(v, f));
const str = (v: unknown, f: string): string => {
  if (typeof v !== 'string') throw invalid(f, 'a string', v);
  return v;
};
const object = (v: unknown, f: string): JsonObject => {
  if (!isJsonObject(v) || !isJsonValue(v)) throw invalid(f, 'a JSON object', v);
  return structuredClone(v);
};
const stringList = (v: unknown, f: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(f, 'a list of strings', v);
  return [...(v as string[])];
};
const intList = (v: unknown, f: string, min = -Infinity): number[] => {
  if (!Array.isArray(v)) throw invalid(f, 'a list of integers', v);
  return v.map((x, i) => int(x, `${f}[${i}]`, min));
};
/** Python turns a list into a set: duplicates go, we keep the first occurrence's order. */
const unique = (items: string[]): string[] => [...new Set(items)];

function namesOrRegex(v: unknown, f: string): string[] | string | null {
  if (v === null) return null;
  if (typeof v === 'string') {
    if (v.toLowerCase() !== 'all-linear') assertPythonRegex(v, `LoraConfig.${f}`);
    return v;
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return unique(v as string[]);
  throw invalid(f, 'a list of module names, a regex string, or null', v);
}

function patternDict(v: unknown, f: string, value: (x: unknown, field: string) => number): Record<string, number> {
  if (v === null) return {};
  if (!isJsonObject(v)) throw invalid(f, 'an object mapping module-name patterns to numbers', v);
  const out: Record<string, number> = {};
  for (const [key, x] of Object.entries(v)) {
    assertPythonRegex(`(.*\\.)?(${key})$`, `LoraConfig.${f} key ${JSON.stringify(key)}`);
    out[key] = value(x, `${f}[${JSON.stringify(key)}]`);
  }
  return out;
}

export const FIELD_SPECS: FieldSpecs = {
  task_type: {
    default: () => null, since: '0.6',
    check: (v, f) => {
      if (v === null) return null;
      if (typeof v === 'string' && (TASK_TYPES as readonly string[]).includes(v)) return v as TaskType;
      throw invalid(f, `null or one of ${TASK_TYPES.join(', ')}`, v);
    },
  },
  peft_type: {
    default: () => 'LORA', since: '0.6',
    check: (v, f) => {
      if (v !== 'LORA') throw invalid(f, '"LORA" (node-peft implements LoRA only)', v);
      return 'LORA';
    },
  },
  auto_mapping: { default: () => null, since: '0.6', check: nullable(object) },
  peft_version: { default: () => PEFT_FORMAT_VERSION, since: '0.18', check: (v, f) => (v === null ? PEFT_FORMAT_VERSION : str(v, f)) },
  base_model_name_or_path: { default: () => null, since: '0.6', check: nullable(str) },
  revision: { default: () => null, since: '0.6', check: nullable(str) },
  inference_mode: { default: () => false, since: '0.6', check: bool },
  r: { default: () => 8, since: '0.6', check: (v, f) => int(v, f, 1) },
  target_modules: { default: () => null, since: '0.6', check: namesOrRegex },
  exclude_modules: { default: () => null, since: '0.14', check: namesOrRegex },
  lora_alpha: { default: () => 8, since: '0.6', check: finite },
  lora_dropout: {
    default: () => 0, since: '0.6',
    check: (v, f) => {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw invalid(f, 'a probability in [0, 1]', v);
      return v;
    },
  },
  fan_in_fan_out: { default: () => false, since: '0.6', check: bool },
  bias: {
    default: () => 'none', since: '0.6',
    check: (v, f) => {
      if (v === 'none' || v === 'all' || v === 'lora_only') return v;
      throw invalid(f, '"none", "all" or "lora_only"', v);
    },
  },
  use_rslora: { default: () => false, since: '0.8', check: bool },
  modules_to_save: { default: () => null, since: '0.6', check: nullable(stringList) },
  init_lora_weights: {
    default: () => true, since: '0.6',
    check: (v, f) => {
      if (typeof v === 'boolean' || typeof v === 'string') return v;
      throw invalid(f, 'true, false or an initialisation name such as "gaussian"', v);
    },
  },
  layers_to_transform: {
    default: () => null, since: '0.6',
    check: (v, f) => (v === null ? null : typeof v === 'number' ? int(v, f, 0) : intList(v, f, 0)),
  },
  layers_pattern: {
    default: () => null, since: '0.6',
    check: (v, f) => (v === null ? null : typeof v === 'string' ? v : stringList(v, f)),
  },
  rank_pattern: { default: () => ({}), since: '0.6', check: (v, f) => patternDict(v, f, (x, g) => int(x, g, 1)) },
  alpha_pattern: { default: () => ({}), since: '0.6', check: (v, f) => patternDict(v, f, finite) },
  megatron_config: { default: () => null, since: '0.7', check: nullable(object) },
  megatron_core: { default: () => 'megatron.core', since: '0.7', check: nullable(str) },
  trainable_token_indices: {
    default: () => null, since: '0.15',
    check: (v, f) => {
      if (v === null) return null;
      if (Array.isArray(v)) return intList(v, f, 0);
      if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, intList(x, `${f}[${JSON.stringify(k)}]`, 0)]));
      throw invalid(f, 'a list of token ids, an object module name -> list of token ids, or null', v);
    },
  },
  loftq_config: { default: () => ({}), since: '0.7', check: (v, f) => (v === null ? {} : object(v, f)) },
  eva_config: { default: () => null, since: '0.14', check: nullable(object) },
  corda_config: { default: () => null, since: '0.15', check: nullable(object) },
  lora_ga_config: { default: () => null, since: '0.19', check: nullable(object) },
  use_dora: { default: () => false, since: '0.9', check: bool },
  velora_config: { default: () => null, since: '0.20', check: nullable(object) },
  alora_invocation_tokens: { default: () => null, since: '0.18', check: nullable((v, f) => intList(v, f, 0)) },
  use_qalora: { default: () => false, since: '0.16', check: bool },
  qalora_group_size: { default: () => 16, since: '0.16', check: (v, f) => int(v, f, 1) },
  monteclora_config: { default: () => null, since: '0.20', check: nullable(object) },
  layer_replication: {
    default: () => null, since: '0.10',
    check: (v, f) => {
      if (v === null) return null;
      if (!Array.isArray(v)) throw invalid(f, 'a list of [start, end) pairs', v);
      return v.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw invalid(`${f}[${i}]`, 'a [start, end) pair of integers', pair);
        return [int(pair[0], `${f}[${i}][0]`, 0), int(pair[1], `${f}[${i}][1]`, 0)] as [number, number];
      });
    },
  },
  lora_bias: { default: () => false, since: '0.14', check: bool },
  target_parameters: {
    default: () => null, since: '0.17',
    check: (v, f) => {
      if (typeof v === 'string') throw invalid(f, 'a list of strings or null (a string is refused, as in PEFT)', v);
      return v === null ? null : stringList(v, f);
    },
  },
  use_bdlora: { default: () => null, since: '0.19', check: nullable(object) },
  arrow_config: { default: () => null, since: '0.18', check: nullable(object) },
  kasa_config: { default: () => null, since: '0.21', check: nullable(object) },
  ensure_weight_tying: { default: () => false, since: '0.18', check: bool },
};

/** Field names in PEFT's declaration order. */
export const LORA_CONFIG_FIELDS = Object.keys(FIELD_SPECS) as LoraConfigField[];

export function isLoraConfigField(name: string): name is LoraConfigField {
  return Object.prototype.hasOwnProperty.call(FIELD_SPECS, name);
}

/** Compares dotted release numbers ('0.9' < '0.14'). */
export function compareVersions(a: string, b: string): number {
  const left = a.split(/[.@+-]/).map((x) => Number.parseInt(x, 10) || 0);
  const right = b.split(/[.@+-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
