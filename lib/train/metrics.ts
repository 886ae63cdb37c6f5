// Metrics as JSON lines: one object a line ({"step", "split", ...numbers}), appended as training goes, so
// a run that stops still leaves every line it logged; readMetrics() reads them back for plots.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TorchError } from '../errors.js';

export interface MetricsRecord {
  step: number;
  /** 'train' or 'eval' (or any name a caller chooses). */
  split: string;
  [name: string]: number | string;
}

export class MetricsLog {
  readonly path: string;

  /** Starts a new file unless `append` (resuming a run keeps the lines already there). */
  constructor(path: string, options: { append?: boolean } = {}) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    if (!options.append || !existsSync(path)) writeFileSync(path, '');
  }

  write(record: MetricsRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /** Drops the lines after `step` (a resumed run writes them again). */
  truncateAfter(step: number): void {
    const kept = readMetrics(this.path).filter((r) => r.step <= step);
    writeFileSync(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, k) => {
      const record = JSON.parse(line) as MetricsRecord;
      if (typeof record.step !== 'number' || typeof record.split !== 'string') {
        throw new TorchError(`${path}: line ${k + 1}: expected an object with numeric 'step' and string 'split'`);
      }
      return record;
    });
}
