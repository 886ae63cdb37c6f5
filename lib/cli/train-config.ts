// train.json: what `node-peft train` reads (documented in docs/cli.md). Paths are relative to the file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { LoraConfigInit } from '../peft/index.js';
import type { AugmentOptions } from '../train/augment.js';
import { UsageError } from './args.js';
import { type ModelDtype, parseModelDtype } from './load-model.js';

export type SchedulerKind = 'constant' | 'linear' | 'cosine';

/** How JSONL data (text, prompt/completion or chat rows) is tokenized, as TRL's SFTTrainer does. */
export interface TextDataConfig {
  /** The tokenizer folder or repo (default: the model's). */
  tokenizer: string;
  /** Tokens kept per example, or the packed row length (default 1024, as TRL; null: no limit). */
  max_length: number | null;
  /** Pack examples into rows of max_length tokens (best-fit decreasing). */
  packing: boolean;
  /** Loss on the completion only for prompt/completion rows (default true). */
  completion_only_loss: boolean;
  /** Loss on assistant turns only for chat rows (default true). */
  assistant_only_loss: boolean;
}

export interface TrainConfig {
  model: string;
  /** The base model's dtype ('auto': the checkpoint's); LoRA weights, gradients and AdamW state stay float32. */
  dtype: ModelDtype;
  output_dir: string;
  lora: LoraConfigInit;
  train_data: string;
  eval_data: string | null;
  /** Tokenization of .jsonl data files. */
  text: TextDataConfig;
  /** Image data only: seeded training augmentation (data.augment). */
  augment: AugmentOptions | null;
  /** ViT only: resize the model (position embeddings interpolated) and its image processor to this size before adding LoRA. */
  image_size: number | null;
  steps: number;
  batch_size: number;
  gradient_accumulation_steps: number;
  learning_rate: number;
  weight_decay: number;
  lr_scheduler: SchedulerKind;
  warmup_steps: number;
  max_grad_norm: number | null;
  eval_every: number | null;
  checkpoint_every: number | null;
  log_every: number;
  seed: number;
  resume: boolean;
  /** Without resume, a non-empty output_dir is refused unless this is true (the earlier run's files are replaced). */
  overwrite_output_dir: boolean;
}

const DATA_KNOWN = new Set(['train', 'eval', 'augment', 'tokenizer', 'max_length', 'packing', 'completion_only_loss', 'assistant_only_loss']);
const KNOWN = new Set(['model', 'dtype', 'output_dir', 'lora', 'data', 'image_size', 'steps', 'batch_size', 'gradient_accumulation_steps', 'learning_rate',
  'weight_decay', 'lr_scheduler', 'warmup_steps', 'max_grad_norm', 'eval_every', 'checkpoint_every', 'log_every', 'seed', 'resume',
  'overwrite_output_dir']);

type Json = Record<string, unknown>;

function fail(path: string, field: string, expected: string, got: unknown): never {
  throw new UsageError(`train: ${path}: '${field}' must be ${expected}, got ${JSON.stringify(got)}`);
}

export function parseTrainConfig(text: string, path: string): TrainConfig {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (error) {
    throw new UsageError(`train: ${path} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(path, '(top level)', 'an object', json);
  const unknown = Object.keys(json).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new UsageError(`train: ${path}: unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')} (see docs/cli.md)`);
  const base = dirname(path);
  const resolvePath = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  // a Hub repo id ('org/name') stays as is unless a folder of that name sits next to train.json
  const resolveModelOrRepo = (p: string): string => (isAbsolute(p) || existsSync(join(base, p)) || !/^[\w.-]+\/[\w.-]+$/.test(p) ? resolvePath(p) : p);
  const str = (field: string, value: unknown = json[field]): string => (typeof value === 'string' && value !== '' ? value : fail(path, field, 'a non-empty string', value));
  const int = (field: string, fallback: number | null, min = 1): number | null => {
    const v = json[field] ?? fallback;
    if (v === null) return null;
    return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fail(path, field, `an integer >= ${min}`, v);
  };
  const num = (field: string, fallback: number | null): number | null => {
    const v = json[field] ?? fallback;
    if (v === null) return null;
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fail(path, field, 'a number >= 0', v);
  };
  const lora = json.lora;
  if (typeof lora !== 'object' || lora === null || Array.isArray(lora)) fail(path, 'lora', 'an object of LoraConfig fields', lora);
  const data = json.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail(path, 'data', 'an object { "train": FILE, "eval"?: FILE }', data);
  const dataJson = data as Json;
  const unknownData = Object.keys(dataJson).filter((k) => !DATA_KNOWN.has(k));
  if (unknownData.length) throw new UsageError(`train: ${path}: unknown field(s) in 'data': ${unknownData.map((k) => `'${k}'`).join(', ')} (see docs/cli.md)`);
  const flag = (field: string, fallback: boolean): boolean => {
    const v = dataJson[field] ?? fallback;
    return typeof v === 'boolean' ? v : fail(path, `data.${field}`, 'true or false', v);
  };
  const maxLength = dataJson.max_length === undefined ? 1024 : dataJson.max_length;
  if (maxLength !== null && !(typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength >= 2)) fail(path, 'data.max_length', 'an integer >= 2 or null', maxLength);
  const packing = flag('packing', false);
  if (packing && maxLength === null) fail(path, 'data.max_length', 'an integer when packing', maxLength);
  const augment = dataJson.augment ?? null;
  if (augment !== null && (typeof augment !== 'object' || Array.isArray(augment))) fail(path, 'data.augment', 'an object { "random_resized_crop"?, "horizontal_flip"? }', augment);
  const scheduler = json.lr_scheduler ?? 'constant';
  if (scheduler !== 'constant' && scheduler !== 'linear' && scheduler !== 'cosine') fail(path, 'lr_scheduler', "'constant', 'linear' or 'cosine'", scheduler);
  const resume = json.resume ?? false;
  if (typeof resume !== 'boolean') fail(path, 'resume', 'true or false', resume);
  const overwrite = json.overwrite_output_dir ?? false;
  if (typeof overwrite !== 'boolean') fail(path, 'overwrite_output_dir', 'true or false', overwrite);
  return {
    model: resolvePath(str('model')),
    dtype: parseModelDtype(`train: ${path}: 'dtype'`, json.dtype),
    output_dir: resolvePath(str('output_dir')),
    lora: lora as LoraConfigInit,
    train_data: resolvePath(str('data.train', dataJson.train)),
    eval_data: dataJson.eval === undefined || dataJson.eval === null ? null : resolvePath(str('data.eval', dataJson.eval)),
    text: {
      tokenizer: dataJson.tokenizer === undefined ? resolvePath(str('model')) : resolveModelOrRepo(str('data.tokenizer', dataJson.tokenizer)),
      max_length: maxLength as number | null,
      packing,
      completion_only_loss: flag('completion_only_loss', true),
      assistant_only_loss: flag('assistant_only_loss', true),
    },
    augment: augment as AugmentOptions | null,
    image_size: int('image_size', null),
    steps: int('steps', null) ?? fail(path, 'steps', 'an integer >= 1', json.steps),
    batch_size: int('batch_size', 8) as number,
    gradient_accumulation_steps: int('gradient_accumulation_steps', 1) as number,
    learning_rate: num('learning_rate', 1e-3) as number,
    weight_decay: num('weight_decay', 0) as number,
    lr_scheduler: scheduler,
    warmup_steps: int('warmup_steps', 0, 0) as number,
    max_grad_norm: num('max_grad_norm', null),
    eval_every: int('eval_every', null),
    checkpoint_every: int('checkpoint_every', null),
    log_every: int('log_every', 10) as number,
    seed: int('seed', 0, 0) as number,
    resume,
    overwrite_output_dir: overwrite,
  };
}

export function readTrainConfig(path: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`train: --config ${path}: cannot read the file`);
  }
  return parseTrainConfig(text, path);
}
