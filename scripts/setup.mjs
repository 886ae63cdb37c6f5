#!/usr/bin/env node
// npm run setup: npm dependencies, LibTorch (found or installed privately), the native addon, the TypeScript build
// (ESM and the CommonJS bundle). Idempotent: each step is skipped when its inputs have not changed.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFromSource, removeStalePrebuilds } from './build-from-source.mjs';

const { findLibTorch, PINNED_SERIES, PINNED_VERSION } = createRequire(import.meta.url)('./libtorch.cjs');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rebuild = process.argv.includes('--rebuild');
const quiet = process.argv.includes('--quiet');
const skipTypeScript = process.argv.includes('--skip-ts');

function log(message) {
  if (!quiet) console.error(`[setup] ${message}`);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
  }
}

function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function hashOf(paths, extra = '') {
  const hash = createHash('sha256').update(extra);
  const walk = (p) => {
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else {
      hash.update(relative(root, p)).update(readFileSync(p));
    }
  };
  for (const p of paths) walk(join(root, p));
  return hash.digest('hex');
}

function stampMatches(name, value) {
  const file = join(root, 'build', 'stamps', name);
  return !rebuild && existsSync(file) && readFileSync(file, 'utf8') === value;
}

function writeStamp(name, value) {
  writeAtomic(join(root, 'build', 'stamps', name), value);
}

function npmDependencies() {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  // npm install, not npm ci: npm 11's ci rejects vite 8's lock entries for optional Windows-only packages
  // ("Missing: napi-windows-process-start-time"); install still follows package-lock.json, and --no-save keeps
  // it from rewriting the committed lock file.
  log('installing npm dependencies');
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save']);
}

// A private torch for a checkout without one: pip install torch==2.13.0 into .torch/venv (git-ignored).
function installPrivateTorch() {
  const venv = join(root, '.torch', 'venv');
  const python = process.env.NODE_PEFT_PYTHON || 'python3';
  log(`installing torch==${PINNED_VERSION} into ${venv} (pip, once)`);
  if (!existsSync(join(venv, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  // --no-deps: only the libraries, headers and CMake files are needed. --retries 0 keeps an offline machine fast.
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '--no-deps', '--retries', '0', '--timeout', '15',
    `torch==${PINNED_VERSION}`], { stdio: 'inherit' });
}

function libtorchForBuilding() {
  try {
    return findLibTorch({ root, requireBuildFiles: true });
  } catch (error) {
    if (error.code !== 'NOT_FOUND') throw error;
    installPrivateTorch();
    return findLibTorch({ root, requireBuildFiles: true });
  }
}

// (Other private-venv installs, e.g. Python packages for interop tests, belong after the torch step above.)

// Data-parallel training compiles against the gloo headers (LibTorch does not ship them). On Debian/Ubuntu as root
// they are installed from the distribution (libgloo-dev); elsewhere the build leaves data parallelism out and says so.
const GLOO_HEADER = '/usr/include/gloo/config.h';

function ensureGlooHeaders() {
  if (existsSync(GLOO_HEADER) || process.platform !== 'linux' || process.env.NODE_PEFT_NO_APT === '1') return;
  const aptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).stdout.trim();
  if (!aptGet || process.getuid?.() !== 0) {
    log('gloo headers not found: data-parallel training (train --nproc) is left out of this build; ' +
      'install libgloo-dev (Debian/Ubuntu) and rebuild to have it');
    return;
  }
  log('installing the gloo headers (apt-get install libgloo-dev) for data-parallel training');
  const install = () => spawnSync(aptGet, ['install', '-y', '-qq', '--no-install-recommends', 'libgloo-dev'], { stdio: 'ignore' }).status === 0;
  if (!install()) {
    spawnSync(aptGet, ['update', '-qq'], { stdio: 'ignore' });
    if (!install()) log('apt-get install libgloo-dev failed: data-parallel training is left out of this build');
  }
}

function buildAddon(torch) {
  ensureGlooHeaders();
  const { root: torchRoot, libDir, version, cuda, source } = torch;
  const inputs = hashOf(['native', 'CMakeLists.txt'], JSON.stringify({ root: torchRoot, libDir, version, cuda, source, gloo: existsSync(GLOO_HEADER) }));
  const addon = join(root, 'build', 'Release', 'node_peft.node');
  if (existsSync(addon) && stampMatches('addon', inputs)) return;
  buildFromSource({ root, torch, log, quiet });
  removeStalePrebuilds(root, log);
  writeStamp('addon', inputs);
}

function buildTypeScript() {
  const inputs = hashOf(['lib', 'bin', 'examples', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-cjs.mjs']);
  if (existsSync(join(root, 'dist', 'cjs', 'index.cjs')) && stampMatches('typescript', inputs)) return;
  log('compiling TypeScript (ESM, then the CommonJS bundle)');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  run(process.execPath, [join(root, 'scripts', 'build-cjs.mjs')]);
  writeStamp('typescript', inputs);
}

try {
  npmDependencies();
  const torch = libtorchForBuilding();
  writeAtomic(join(root, 'build', 'libtorch.json'), `${JSON.stringify(torch, null, 2)}\n`);
  buildAddon(torch);
  if (!skipTypeScript) buildTypeScript();
  (await import('./python-env.mjs')).ensurePythonEnv({ root, log }); // PEFT + transformers for the interop tests
} catch (error) {
  console.error(`[setup] failed: ${error instanceof Error ? error.message : error}`);
  console.error(`[setup] node-peft needs LibTorch ${PINNED_SERIES}.x; see README.md, "LibTorch".`);
  process.exit(1);
}
