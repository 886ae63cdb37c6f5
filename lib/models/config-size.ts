// A config.json from a stranger must not make the model allocate without bound: before the model is built, the
// parameters its config describes are estimated from the usual Hugging Face size fields and compared with the
// bytes of its weight files. A legitimate config describes about as many bytes as its checkpoint holds.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import type { ConfigJson } from './config.js';

/** Room for estimates that overcount (grouped KV heads, 2- vs 3-matrix MLPs, float16 weights) and small models. */
const SLACK_FACTOR = 8;
const SLACK_BYTES = 64 * 2 ** 20;

function size(config: ConfigJson, names: string[], fallback: number): number {
  for (const name of names) {
    const value = config[name];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  }
  return fallback;
}

/** About how many parameters the config describes (embeddings, layers, heads); an estimate, within ~2x. */
export function estimatedParameters(config: ConfigJson): number {
  const hidden = size(config, ['hidden_size', 'n_embd', 'd_model'], 0);
  const intermediate = size(config, ['intermediate_size', 'n_inner'], 4 * hidden);
  const layers = size(config, ['num_hidden_layers', 'n_layer'], 0);
  const patches = (size(config, ['image_size'], 0) / size(config, ['patch_size'], 1)) ** 2;
  const rows = size(config, ['vocab_size'], 0) + size(config, ['max_position_embeddings', 'n_positions'], 0) + size(config, ['type_vocab_size'], 0)
    + (typeof config.num_labels === 'number' ? config.num_labels : Object.keys((config.id2label as object | undefined) ?? {}).length) + patches;
  return rows * hidden + layers * (4 * hidden * hidden + 2 * hidden * intermediate);
}

/** The bytes of the weight files of a model folder (0 when there are none). */
export function checkpointBytes(dir: string): number {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return statSync(single).size;
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return 0;
  try {
    const files = new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {}));
    return [...files].reduce((sum, file) => sum + (existsSync(join(dir, String(file))) ? statSync(join(dir, String(file))).size : 0), 0);
  } catch {
    return 0; // the loader reports a broken index
  }
}

/** Throws when config.json describes a model far larger than the weights beside it (before anything is allocated). */
export function checkConfigFitsWeights(config: ConfigJson, dir: string): void {
  const weights = checkpointBytes(dir);
  const described = 4 * estimatedParameters(config);
  if (weights > 0 && described > SLACK_FACTOR * weights + SLACK_BYTES) {
    throw new TorchError(
      `${join(dir, 'config.json')}: describes a model of about ${(described / 2 ** 20).toFixed(0)} MiB of parameters, but its weight files hold ` +
        `${(weights / 2 ** 20).toFixed(1)} MiB: the config does not belong to these weights (check hidden_size, intermediate_size, ` +
        'num_hidden_layers, vocab_size, max_position_embeddings)',
    );
  }
}
