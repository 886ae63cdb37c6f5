// A model folder's JSON files (config.json, generation_config.json): read as one object, or a TorchError naming
// the file and what is wrong with it.
import { readFile } from 'node:fs/promises';
import { TorchError } from '../errors.js';

/** The file's JSON object; null when `optional` and the file does not exist. */
export async function readJsonObject(path: string, options: { optional?: boolean; what?: string } = {}): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (options.optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TorchError(`${options.what ? `${options.what}: ` : ''}cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TorchError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TorchError(`${path}: expected a JSON object`);
  return json as Record<string, unknown>;
}
