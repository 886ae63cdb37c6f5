// node-peft install-libtorch (fetch LibTorch into the per-user cache) and node-peft build (the addon from source):
// thin wrappers over scripts/fetch-libtorch.mjs and scripts/build-from-source.mjs, which `npm run setup` shares.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findPackageRoot } from '../package-root.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';

function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new Error('cannot find the node-peft package folder');
  return root;
}

/** Runs one of the package's scripts with the same Node, output straight to the terminal; its exit code. */
function runScript(script: string, args: string[]): number {
  const result = spawnSync(process.execPath, [join(packageRoot(), 'scripts', script), ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

export const installLibTorchCommand: Command = {
  name: 'install-libtorch',
  usage: [
    'usage: node-peft install-libtorch [--force]',
    '  Downloads LibTorch 2.13 (CPU) into the per-user cache (NODE_PEFT_CACHE, else ~/.cache/node-peft) and checks it',
    '  against the SHA-256 its index publishes (or NODE_PEFT_LIBTORCH_SHA256). Mirrors: NODE_PEFT_LIBTORCH_INDEX (a',
    '  wheel index page) or NODE_PEFT_LIBTORCH_URL (an archive). --force downloads again even when a copy is cached.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseCommandArgs('install-libtorch', argv, { force: { type: 'boolean' } });
    return runScript('fetch-libtorch.mjs', values.force === true ? ['--force'] : []);
  },
};

export const buildCommand: Command = {
  name: 'build',
  usage: [
    'usage: node-peft build',
    '  Builds the native addon from source (cmake-js) when no prebuilt binary fits this system. Needs a C++20',
    '  compiler, cmake, make or ninja, and LibTorch 2.13 with its headers (a torch 2.13 Python package or an unpacked',
    '  LibTorch archive; NODE_PEFT_LIBTORCH). Names everything missing before it starts.',
  ].join('\n'),
  async run(argv) {
    parseCommandArgs('build', argv, {});
    return runScript('build-from-source.mjs', []);
  },
};
