// A tokenizer folder from a local path or a Hub repo id.
import { existsSync, statSync } from 'node:fs';
import { resolvePretrainedDir } from '../hub/index.js';
import { TOKENIZER_FILES } from './config.js';

export async function resolveTokenizerDir(dirOrRepo: string, revision?: string): Promise<string> {
  if (existsSync(dirOrRepo) && statSync(dirOrRepo).isDirectory()) return dirOrRepo;
  return resolvePretrainedDir(dirOrRepo, { revision, required: ['tokenizer.json'], optional: TOKENIZER_FILES });
}
