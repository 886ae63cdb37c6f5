#!/usr/bin/env node
// The node-peft command line; the commands live in dist/lib/cli/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'lib', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('node-peft: not built yet; run "npm run setup" first');
  process.exit(1);
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
