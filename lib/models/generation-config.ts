// generation_config.json → generate's options: the defaults a model ships (end tokens, sampling settings),
// which explicit options override ({ ...await loadGenerationConfig(dir), ...options }).
import { join } from 'node:path';
import type { GenerationOptions } from './generation.js';
import { readJsonObject } from './json-file.js';

const FIELDS: [string, keyof GenerationOptions][] = [
  ['do_sample', 'doSample'], ['temperature', 'temperature'], ['top_k', 'topK'], ['top_p', 'topP'],
  ['repetition_penalty', 'repetitionPenalty'], ['max_new_tokens', 'maxNewTokens'], ['eos_token_id', 'eosTokenId'], ['pad_token_id', 'padTokenId'],
];

/** The generation options a model folder's generation_config.json sets ({} when it has none). */
export async function loadGenerationConfig(dir: string): Promise<GenerationOptions> {
  const json = await readJsonObject(join(dir, 'generation_config.json'), { optional: true });
  if (json === null) return {};
  const options: Record<string, unknown> = {};
  for (const [field, option] of FIELDS) {
    const value = json[field];
    if (value !== undefined && value !== null) options[option] = value;
  }
  return options as GenerationOptions;
}
