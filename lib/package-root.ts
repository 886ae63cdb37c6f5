// The folder holding node-peft's package.json (and build/, bench/), found upward from this file,
// whether it runs from lib/ (TypeScript sources) or dist/lib/ (compiled).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, or null when this file is not inside a node-peft package. */
export function findPackageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'node-peft') return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
