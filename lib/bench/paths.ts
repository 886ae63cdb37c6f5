// Where the benchmark's files are: the package root, the Python reference, the compiled child entry point.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TorchError } from '../errors.js';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'node-peft') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new TorchError('bench: cannot find the node-peft package root');
    dir = parent;
  }
}

export function referenceScript(): string {
  return join(packageRoot(), 'bench', 'reference.py');
}

/** The compiled child entry (child.js beside this file), or null when running from TypeScript sources. */
export function childEntry(): string | null {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.js')) return null;
  const entry = join(dirname(here), 'child.js');
  return existsSync(entry) ? entry : null;
}
