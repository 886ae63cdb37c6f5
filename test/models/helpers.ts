// Shared by the model tests: fixture paths and tensor comparison.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../lib/index.js';
import { torch } from '../../lib/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Case folders (relative to test/fixtures) of the PEFT golden sets: both transformers eras. */
export function goldenCases(): string[] {
  return ['peft-golden', 'peft-golden-transformers4'].flatMap((set) =>
    readdirSync(join(FIXTURES, set), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${set}/${entry.name}`));
}

/** Largest absolute elementwise difference (float32 comparison). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join(',') !== b.shape.join(',')) throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  return torch.scope(() => a.to('float32').sub(b.to('float32')).abs().max().item());
}
