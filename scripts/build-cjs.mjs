#!/usr/bin/env node
// The CommonJS entry: bundles the compiled ESM (dist/lib/index.js) into dist/cjs/index.cjs with rolldown
// (import.meta.url becomes the bundle's own file URL), and copies the declarations as .d.cts files so that
// `require('node-peft')` is typed too. npm dependencies and node: built-ins stay external.
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const esm = join(root, 'dist', 'lib');
const out = join(root, 'dist', 'cjs');

function declarations(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarations(path);
    return name.endsWith('.d.ts') ? [path] : [];
  });
}

rmSync(out, { recursive: true, force: true });
const bundle = await rolldown({
  input: join(esm, 'index.js'),
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  logLevel: 'warn',
});
await bundle.write({ file: join(out, 'index.cjs'), format: 'cjs', codeSplitting: false, sourcemap: false });
await bundle.close();

for (const file of declarations(esm)) {
  const target = join(out, 'types', relative(esm, file)).replace(/\.d\.ts$/, '.d.cts');
  const text = readFileSync(file, 'utf8').replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.js\2/g, '$1$2$3.cjs$2');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}
