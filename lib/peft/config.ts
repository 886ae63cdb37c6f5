// LoraConfig: the adapter_config.json of a LoRA adapter, with PEFT 0.21's defaults and checks, read and written
// exactly as PEFT does.
import { PeftError } from '../errors.js';
import {
  compareVersions,
  FIELD_SPECS,
  invalid,
  isLoraConfigField,
  LORA_CONFIG_FIELDS,
  type LoraConfigField,
  type LoraConfigFields,
} from './config-fields.js';
import { pythonJsonDumps, pythonRepr, type JsonObject, type JsonValue } from '../serialization/python-json.js';

export { LORA_CONFIG_FIELDS, PEFT_FORMAT_VERSION, TASK_TYPES } from './config-fields.js';
export type { LoraBias, LoraConfigField, LoraConfigFields, TaskType } from './config-fields.js';

/** Receives each warning PEFT would print (unknown fields dropped, ignored sub-configs ...). */
export type WarnFn = (message: string) => void;

export interface LoraConfigOptions {
  /** Where warnings go; default: process.emitWarning for `new LoraConfig`, nowhere for parseLoraConfig. */
  warn?: WarnFn;
}

/** Any subset of the fields; the rest take PEFT's defaults. */
export type LoraConfigInit = Partial<LoraConfigFields>;

const emitWarning: WarnFn = (message) => process.emitWarning(message, 'PeftWarning');

// Class and interface merge: a LoraConfig instance carries every field of LoraConfigFields.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface LoraConfig extends LoraConfigFields {}

/**
 * `new LoraConfig({ r: 16, target_modules: ['q_proj', 'v_proj'] })`, as Python's `LoraConfig(r=16, ...)`: missing
 * fields take PEFT 0.21's defaults, values are checked (PeftError names the field, what was expected and what was
 * got), and the cross-field rules of PEFT's `__post_init__` apply. Field names are the on-disk snake_case ones.
 * A list `target_modules`/`exclude_modules` loses duplicates (PEFT holds them as sets), keeping first-seen order.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class LoraConfig {
  constructor(init: LoraConfigInit = {}, options: LoraConfigOptions = {}) {
    if (typeof init !== 'object' || init === null || Array.isArray(init)) throw invalid('(init)', 'an object of LoraConfig fields', init);
    const warn = options.warn ?? emitWarning;
    for (const key of Object.keys(init)) {
      if (!isLoraConfigField(key)) {
        throw new PeftError(`LoraConfig: unknown field ${JSON.stringify(key)}; expected one of ${LORA_CONFIG_FIELDS.join(', ')}`);
      }
    }
    const target = this as unknown as Record<LoraConfigField, unknown>;
    for (const field of LORA_CONFIG_FIELDS) {
      const given = (init as Record<string, unknown>)[field];
      const spec = FIELD_SPECS[field] as { default: () => unknown; check: (v: unknown, f: string) => unknown };
      target[field] = given === undefined ? spec.default() : spec.check(given, field);
    }
    applyPostInitRules(this, warn);
  }
}

/** The cross-field rules of PEFT's `LoraConfig.__post_init__` (errors and the config mutations PEFT makes). */
function applyPostInitRules(config: LoraConfigFields, warn: WarnFn): void {
  const regexTargets = typeof config.target_modules === 'string';
  if (regexTargets && config.layers_to_transform !== null) {
    throw invalid('layers_to_transform', 'null when target_modules is a regex string (PEFT refuses the combination)', config.layers_to_transform);
  }
  if (regexTargets && config.layers_pattern !== null) {
    throw invalid('layers_pattern', 'null when target_modules is a regex string (PEFT refuses the combination)', config.layers_pattern);
  }
  if (config.layers_pattern !== null && config.layers_pattern.length > 0 && config.layers_to_transform === null) {
    throw invalid('layers_to_transform', 'a layer index or list of indices when layers_pattern is set', null);
  }
  if (config.use_dora && config.megatron_config !== null && Object.keys(config.megatron_config).length > 0) {
    throw invalid('use_dora', 'false with megatron_config (DoRA does not support Megatron)', true);
  }
  if (config.init_lora_weights === 'loftq') {
    if (Object.keys(config.loftq_config).length === 0) throw invalid('loftq_config', 'a LoftQ config when init_lora_weights is "loftq"', config.loftq_config);
  } else if (Object.keys(config.loftq_config).length > 0) {
    config.loftq_config = {};
    warn("`loftq_config` specified but will be ignored when `init_lora_weights` is not 'loftq'.");
  } else if (config.init_lora_weights !== 'eva' && config.eva_config !== null) {
    warn("`eva_config` specified but will be ignored when `init_lora_weights` is not 'eva'.");
  } else if (config.init_lora_weights !== 'corda' && config.corda_config !== null) {
    warn("`corda_config` specified but will be ignored when `init_lora_weights` is not 'corda'.");
  }
  if (config.lora_bias) {
    if (typeof config.init_lora_weights !== 'boolean') {
      throw invalid('init_lora_weights', 'true or false when lora_bias is true', config.init_lora_weights);
    }
    if (config.use_dora) throw invalid('lora_bias', 'false with use_dora (PEFT does not support lora_bias for DoRA)', true);
  }
  if (config.alora_invocation_tokens !== null && config.task_type !== 'CAUSAL_LM') {
    warn('aLoRA is currently only supported for CAUSAL_LM task.');
  }
}

export interface ParsedLoraConfig {
  config: LoraConfig;
  /** Warnings PEFT would print while loading this file (also passed to `options.warn`). */
  warnings: string[];
  /** Fields of the file that PEFT 0.21 does not know (dropped). */
  unknownFields: string[];
}

/**
 * Reads adapter_config.json (text or parsed object) as PEFT 0.21 does: missing fields take defaults, unknown fields
 * are dropped with PEFT's warning (forward compatibility since PEFT 0.14), `runtime_config` is dropped with a
 * warning, `peft_type` is required and must be "LORA". Invalid values throw PeftError naming the field.
 */
export function parseLoraConfig(json: string | JsonObject, options: LoraConfigOptions = {}): ParsedLoraConfig {
  let raw: unknown = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (error) {
      throw new PeftError(`adapter_config.json: expected JSON text, got unparsable text (${(error as Error).message})`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PeftError(`adapter_config.json: expected a JSON object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  const warnings: string[] = [];
  const warn: WarnFn = (message) => {
    warnings.push(message);
    options.warn?.(message);
  };
  const fields: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if ('runtime_config' in fields) {
    warn('The configuration file contains a `runtime_config` key. This is ignored. Runtime configurations are only valid at runtime.');
    delete fields.runtime_config;
  }
  if (!('peft_type' in fields)) {
    throw new PeftError("adapter_config.json: expected a \"peft_type\" field (required by PEFT), got none");
  }
  const unknownFields = Object.keys(fields).filter((key) => !isLoraConfigField(key)).sort();
  if (unknownFields.length > 0) {
    warn(
      `Unexpected keyword arguments ${pythonRepr(unknownFields)} for class LoraConfig, these are ignored. ` +
        "This probably means that you're loading a configuration file that was saved using a higher version of the library " +
        'and additional parameters have been introduced since. It is highly recommended to upgrade the PEFT version before ' +
        'continuing (e.g. by running `pip install -U peft`).',
    );
    for (const key of unknownFields) delete fields[key];
  }
  const config = new LoraConfig(fields as LoraConfigInit, { warn });
  return { config, warnings, unknownFields };
}

export interface LoraConfigJsonOptions {
  /**
   * Write only the fields this PEFT release knows (e.g. '0.20.0' omits kasa_config), so that releases before 0.14,
   * which refuse unknown fields, can read the file. Default: every field of PEFT 0.21.
   */
  forPeftVersion?: string;
}

/** The config as a plain JSON object with PEFT's field set (before PEFT's key sorting). */
export function loraConfigToObject(config: LoraConfigFields, options: LoraConfigJsonOptions = {}): JsonObject {
  const out: JsonObject = {};
  for (const field of LORA_CONFIG_FIELDS) {
    if (options.forPeftVersion !== undefined && compareVersions(FIELD_SPECS[field].since, options.forPeftVersion) > 0) continue;
    const value = config[field];
    if (value === undefined) throw invalid(field, 'a value (use null for none)', value);
    out[field] = structuredClone(value) as JsonValue;
  }
  return out;
}

/**
 * adapter_config.json text byte for byte as PEFT writes it: `json.dumps(indent=2, sort_keys=True)`, no trailing
 * newline, ASCII-only, `lora_dropout` as a Python float (`0.0`), other integral numbers as ints. List fields keep the
 * config's order (PEFT writes sets in arbitrary order). PeftModel.save_pretrained writes `inference_mode: true`;
 * set it on the config you pass.
 */
export function loraConfigToJson(config: LoraConfigFields, options: LoraConfigJsonOptions = {}): string {
  const object = loraConfigToObject(config, options);
  return pythonJsonDumps(object, (path, value) => (path.length === 1 && path[0] === 'lora_dropout') || !Number.isInteger(value));
}

/**
 * A deep copy as a LoraConfig (what PeftModel keeps, so a caller's config is never changed by injection or loading).
 * Accepts a LoraConfig or a plain object of its fields; missing fields take defaults, no warnings are repeated.
 */
export function cloneLoraConfig(config: LoraConfigFields | LoraConfigInit): LoraConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalid('(config)', 'a LoraConfig', config);
  const fields: Record<string, unknown> = {};
  for (const field of LORA_CONFIG_FIELDS) {
    const value = (config as Record<string, unknown>)[field];
    if (value !== undefined) fields[field] = structuredClone(value);
  }
  return new LoraConfig(fields as LoraConfigInit, { warn: () => undefined });
}
