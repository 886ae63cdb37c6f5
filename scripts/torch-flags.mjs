#!/usr/bin/env node
// Prints what binding.gyp (the node-gyp fallback build) needs, one item a line:
//   sources | include | libdir | defines  — from the same LibTorch discovery as `npm run setup`.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
const { findLibTorch } = createRequire(import.meta.url)('./libtorch.cjs');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const what = process.argv[2];

if (what === 'sources') {
  for (const name of readdirSync(join(root, 'native')).sort()) if (name.endsWith('.cc')) console.log(`native/${name}`);
} else {
  const torch = findLibTorch({ root, requireBuildFiles: true });
  if (what === 'include') {
    console.log(join(torch.root, 'include'));
    console.log(join(torch.root, 'include', 'torch', 'csrc', 'api', 'include'));
  } else if (what === 'libdir') {
    console.log(torch.libDir);
  } else {
    console.error('usage: torch-flags.mjs sources|include|libdir');
    process.exit(2);
  }
}
