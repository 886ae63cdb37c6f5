// Reading a tokenizer folder's files: every failure names the file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenizerError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TokenizerError(`cannot read the file (${(error as Error).message})`, path);
  }
}

/** A JSON object read from `path`; a missing file is an error. */
export function readJsonObject(path: string): JsonObject {
  const text = readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`not valid JSON (${(error as Error).message})`, path);
  }
  if (!isObject(value)) throw new TokenizerError('expected a JSON object at the top level', path);
  return value;
}

/** The JSON object in `dir/name`, or undefined when the file is absent. */
export function readOptionalJson(dir: string, name: string): JsonObject | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readJsonObject(path) : undefined;
}

/** The text of `dir/name`, or undefined when the file is absent. */
export function readOptionalText(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readText(path) : undefined;
}
