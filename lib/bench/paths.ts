// Where the benchmark's files are: the package root, the Python reference, the compiled child entry point.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TorchError } from '../errors.js';
import { findPackageRoot } from '../package-root.js';

export function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new TorchError('bench: cannot find the node-peft package root');
  return root;
}

/** bench/reference.py, or the script of a workload that has its own (generate: reference_generate.py). */
export function referenceScript(workload = ''): string {
  return join(packageRoot(), 'bench', workload === 'generate' ? 'reference_generate.py' : 'reference.py');
}

/** The compiled child entry (child.js beside this file), or null when running from TypeScript sources. */
export function childEntry(): string | null {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.js')) return null;
  const entry = join(dirname(here), 'child.js');
  return existsSync(entry) ? entry : null;
}
