// JSON Lines files: one JSON object per line; blank lines are skipped; errors name the file and the line.
import { readFileSync } from 'node:fs';
import { DatasetError } from '../errors.js';

export interface JsonlRow {
  /** 1-based line number in the file. */
  line: number;
  value: Record<string, unknown>;
}

export function parseJsonl(text: string, file: string): JsonlRow[] {
  const rows: JsonlRow[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const source = raw.replace(/\r$/, '').trim();
    if (source.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw new DatasetError(`not valid JSON (${(error as Error).message})`, file, line);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DatasetError('each line must be a JSON object', file, line);
    }
    rows.push({ line, value: value as Record<string, unknown> });
  });
  return rows;
}

export function readJsonl(file: string): JsonlRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DatasetError(`cannot read the file (${(error as Error).message})`, file);
  }
  const rows = parseJsonl(text, file);
  if (rows.length === 0) throw new DatasetError('the file has no rows', file);
  return rows;
}
