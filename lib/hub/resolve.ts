// 'org/name' -> a local snapshot folder holding the files a loader needs.
import { HubError } from '../errors.js';

export interface ResolveOptions {
  revision?: string;
  /** Files that must exist in the repo. */
  required: readonly string[];
  /** Files fetched when the repo has them. */
  optional?: readonly string[];
}

export async function resolvePretrainedDir(dirOrRepo: string, _options: ResolveOptions): Promise<string> {
  throw new HubError(`${dirOrRepo}: no such folder`);
}
