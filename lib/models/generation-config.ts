// generation_config.json → generate's options: the defaults a model ships (end tokens, sampling settings),
// which explicit options override ({ ...await loadGenerationConfig(dir), ...options }).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import type { GenerationOptions } from './generation.js';

const FIELDS: [string, keyof GenerationOptions][] = [
  ['do_sample', 'doSample'], ['temperature', 'temperature'], ['top_k', 'topK'], ['top_p', 'topP'],
  ['repetition_penalty', 'repetitionPenalty'], ['max_new_tokens', 'maxNewTokens'], ['eos_token_id', 'eosTokenId'], ['pad_token_id', 'padTokenId'],
];

/** The generation options a model folder's generation_config.json sets ({} when it has none). */
export async function loadGenerationConfig(dir: string): Promise<GenerationOptions> {
  const path = join(dir, 'generation_config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TorchError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TorchError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TorchError(`${path}: expected a JSON object`);
  const options: Record<string, unknown> = {};
  for (const [field, option] of FIELDS) {
    const value = (json as Record<string, unknown>)[field];
    if (value !== undefined && value !== null) options[option] = value;
  }
  return options as GenerationOptions;
}
