// Reading a tokenizer folder with transformers 5's rules: tokenizer.json (+ class rules), tokenizer_config.json,
// special_tokens_map.json (only when the config has no added_tokens_decoder), generation_config.json (eos list),
// chat_template.jinja / additional_chat_templates/*.jinja (beat the config's chat_template).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError } from '../errors.js';
import { applyClassRules, classDefaults, defaultPaddingSide } from './class-rules.js';
import { isObject, readJsonObject, readOptionalJson, readOptionalText, type JsonObject } from './files.js';

export const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

export interface TokenizerSettings {
  dir: string;
  tokenizerJson: JsonObject;
  tokenizerClass: string | undefined;
  specialTokens: Partial<Record<SpecialTokenKey, string>>;
  extraSpecialTokens: string[];
  generationEosIds: number[];
  paddingSide: 'left' | 'right';
  truncationSide: 'left' | 'right';
  modelMaxLength: number;
  cleanUpTokenizationSpaces: boolean;
  /** tokenizer_config.json's split_special_tokens: special tokens written in text are not recognised. */
  splitSpecialTokens: boolean;
  chatTemplates: Record<string, string>;
  /** The file each chat template came from (for error messages). */
  chatTemplateFiles: Record<string, string>;
}

/** Files a tokenizer may need; the Hub downloader fetches those that exist. */
export const TOKENIZER_FILES = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'chat_template.jinja',
];

function tokenContent(value: unknown, file: string, key: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw new TokenizerError(`"${key}" must be a string or an object with "content"`, file);
}

function chatTemplates(dir: string, config: JsonObject, configPath: string): { templates: Record<string, string>; files: Record<string, string> } {
  const templates: Record<string, string> = {};
  const files: Record<string, string> = {};
  const fromConfig = config.chat_template;
  if (typeof fromConfig === 'string') templates.default = fromConfig;
  else if (Array.isArray(fromConfig)) {
    for (const entry of fromConfig) {
      if (!isObject(entry) || typeof entry.name !== 'string' || typeof entry.template !== 'string') {
        throw new TokenizerError('"chat_template" list entries need string "name" and "template"', configPath);
      }
      templates[entry.name] = entry.template;
      files[entry.name] = configPath;
    }
  } else if (fromConfig !== undefined && fromConfig !== null) {
    throw new TokenizerError('"chat_template" must be a string or a list of {name, template}', configPath);
  }
  const extraDir = join(dir, 'additional_chat_templates');
  if (existsSync(extraDir) && statSync(extraDir).isDirectory()) {
    for (const file of readdirSync(extraDir).filter((f) => f.endsWith('.jinja')).sort()) {
      templates[file.slice(0, -'.jinja'.length)] = readOptionalText(extraDir, file)!;
      files[file.slice(0, -'.jinja'.length)] = join(extraDir, file);
    }
  }
  if (templates.default !== undefined) files.default = configPath;
  const main = readOptionalText(dir, 'chat_template.jinja');
  if (main !== undefined) {
    templates.default = main;
    files.default = join(dir, 'chat_template.jinja');
  }
  return { templates, files };
}

function eosIds(generation: JsonObject | undefined, dir: string): number[] {
  const value = generation?.eos_token_id;
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => Number.isInteger(v))) {
    throw new TokenizerError('"eos_token_id" must be an integer or a list of integers', join(dir, 'generation_config.json'));
  }
  return list as number[];
}

function side(value: unknown, fallback: 'left' | 'right', file: string, key: string): 'left' | 'right' {
  if (value === undefined || value === null) return fallback;
  if (value === 'left' || value === 'right') return value;
  throw new TokenizerError(`"${key}" must be "left" or "right", got ${JSON.stringify(value)}`, file);
}

export function readTokenizerSettings(dir: string): TokenizerSettings {
  const jsonPath = join(dir, 'tokenizer.json');
  if (!existsSync(jsonPath)) {
    const hint = ['tokenizer.model', 'vocab.txt', 'vocab.json'].filter((f) => existsSync(join(dir, f)));
    throw new TokenizerError(`no tokenizer.json${hint.length ? ` (found ${hint.join(', ')}: only tokenizer.json folders are supported)` : ''}`, dir);
  }
  const configPath = join(dir, 'tokenizer_config.json');
  const config = readOptionalJson(dir, 'tokenizer_config.json') ?? {};
  const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : undefined;
  const raw = readJsonObject(jsonPath);
  if (!isObject(raw.model)) throw new TokenizerError('"model" must be an object', jsonPath);
  const specialsMap = config.added_tokens_decoder === undefined ? readOptionalJson(dir, 'special_tokens_map.json') ?? {} : {};
  const defaults = classDefaults(tokenizerClass);
  const specialTokens: Partial<Record<SpecialTokenKey, string>> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const value = key in config ? tokenContent(config[key], configPath, key)
      : tokenContent(specialsMap[key], join(dir, 'special_tokens_map.json'), key) ?? defaults[key];
    if (value !== undefined) specialTokens[key] = value;
  }
  const extra = config.extra_special_tokens ?? config.additional_special_tokens ?? specialsMap.additional_special_tokens ?? [];
  const extraSpecialTokens = Array.isArray(extra)
    ? extra.map((t, i) => tokenContent(t, configPath, `extra_special_tokens[${i}]`)!).filter((t) => t !== undefined)
    : [];
  const maxLength = config.model_max_length;
  const templates = chatTemplates(dir, config, configPath);
  return {
    dir,
    tokenizerJson: applyClassRules(raw, config),
    tokenizerClass,
    specialTokens,
    extraSpecialTokens,
    generationEosIds: eosIds(readOptionalJson(dir, 'generation_config.json'), dir),
    paddingSide: side(config.padding_side, defaultPaddingSide(tokenizerClass), configPath, 'padding_side'),
    truncationSide: side(config.truncation_side, 'right', configPath, 'truncation_side'),
    modelMaxLength: typeof maxLength === 'number' && maxLength > 0 ? maxLength : 1e30,
    cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
    splitSpecialTokens: config.split_special_tokens === true,
    chatTemplates: templates.templates,
    chatTemplateFiles: templates.files,
  };
}
