#!/usr/bin/env node
// Builds the native addon from source with cmake-js (CMakeLists.txt): used by `npm run setup` in a checkout and by
// `npx node-peft build` in an installed package when no prebuilt binary fits. Before starting it checks the tools
// and names everything that is missing in one error. (binding.gyp is the documented node-gyp fallback.)
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const finder = require('./libtorch.cjs');
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export class BuildError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BuildError';
  }
}

function onPath(name) {
  if (name.includes('/')) return existsSync(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** What a source build needs and where each was found; `missing` lists what is not there, with how to get it. */
export function checkToolchain(root = packageRoot) {
  const missing = [];
  const compilerNames = process.env.CXX ? [process.env.CXX.split(' ')[0]] : ['c++', 'g++', 'clang++'];
  const compiler = compilerNames.map(onPath).find(Boolean) ?? null;
  if (!compiler) missing.push(`a C++20 compiler (${compilerNames.join(', ')}; e.g. apt install g++)`);
  const cmake = onPath('cmake');
  if (!cmake) missing.push('cmake >= 3.18 (e.g. apt install cmake, or pip install cmake)');
  const generator = onPath('ninja') ?? onPath('make');
  if (!generator) missing.push('make or ninja (e.g. apt install make)');
  let cmakeJs = null;
  try {
    cmakeJs = join(dirname(createRequire(join(root, 'package.json')).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    missing.push('the cmake-js npm package (npm install cmake-js)');
  }
  let torch = null;
  try {
    torch = finder.findLibTorch({ root, requireBuildFiles: true });
  } catch (error) {
    missing.push(`LibTorch ${finder.PINNED_SERIES} with its headers and CMake files: ${error.message.split('\n')[0]}`);
  }
  return { compiler, cmake, generator, cmakeJs, torch, missing };
}

/** Runs cmake-js; the addon lands in build/Release/node_peft.node, the loader in build/loader/. */
export function buildFromSource({ root = packageRoot, torch = null, log = (line) => console.error(line), quiet = false } = {}) {
  const tools = checkToolchain(root);
  const chosen = torch ?? tools.torch;
  const missing = torch ? tools.missing.filter((item) => !item.startsWith('LibTorch')) : tools.missing;
  if (missing.length > 0) {
    throw new BuildError(`cannot build node-peft from source; missing:\n${missing.map((item) => `  - ${item}`).join('\n')}`);
  }
  const jobs = String(Math.max(1, Math.min(4, (Number(process.env.NODE_PEFT_BUILD_JOBS) | 0) || availableParallelism())));
  log(`[node-peft] building the native addon against LibTorch ${chosen.version} (${chosen.root}) with ${tools.compiler}`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [tools.cmakeJs, 'build', '--log-level', 'warn', '-p', jobs,
    `--CDCMAKE_PREFIX_PATH=${chosen.root}`, '--CDCMAKE_BUILD_TYPE=Release'],
  { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  if (result.status !== 0) throw new BuildError(`cmake-js build failed (exit code ${result.status ?? result.signal}); its output is above`);
  // The runtime loads this build with the LibTorch it was built against (lib/native-files.ts reads this file).
  const { root: torchRoot, libDir, version, cuda, source } = chosen;
  writeFileSync(join(root, 'build', 'libtorch.json'), `${JSON.stringify({ root: torchRoot, libDir, version, cuda, source }, null, 2)}\n`);
  log(`[node-peft] native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${join(root, 'build', 'Release', 'node_peft.node')}`);
  return chosen;
}

/** Prebuilt binaries would be loaded before this build: a rebuild from changed sources makes them stale. */
export function removeStalePrebuilds(root = packageRoot, log = (line) => console.error(line)) {
  if (!existsSync(join(root, '.git')) || !existsSync(join(root, 'prebuilds'))) return;
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  log('[setup] removed prebuilds/ (built from older sources; npm run prebuild makes new ones)');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    buildFromSource();
  } catch (error) {
    console.error(`[node-peft] ${error.message}`);
    process.exit(1);
  }
}
