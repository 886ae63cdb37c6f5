// The ONE LibTorch finder, used by `npm run setup`, the build, `node-peft install-libtorch` and the runtime
// loader (lib/binding.ts). CommonJS so that both the ESM and the CommonJS builds can call it synchronously.
// Order: NODE_PEFT_LIBTORCH / LIBTORCH, a Python torch (found without importing it), the private copy of a
// development checkout (.torch/venv), the per-user cache (filled by scripts/fetch-libtorch.mjs).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, readdirSync, realpathSync } = require('node:fs');
const { homedir } = require('node:os');
const { join } = require('node:path');

const PINNED_SERIES = '2.13';
const PINNED_VERSION = '2.13.0';
/** Written last into a fetched LibTorch folder: a folder without it is not used. */
const COMPLETE_STAMP = '.node-peft-complete.json';

/** code: NOT_FOUND (nothing usable anywhere: fetching may help), WRONG_VERSION or NOT_A_FOLDER (a setting is wrong). */
class LibTorchError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'LibTorchError';
    this.code = code;
  }
}

function seriesOf(version) {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  return match ? `${match[1]}.${match[2]}` : null;
}

function readVersion(folder) {
  const versionPy = join(folder, 'version.py');
  if (existsSync(versionPy)) return /__version__\s*=\s*'([^']+)'/.exec(readFileSync(versionPy, 'utf8'))?.[1] ?? null;
  const buildVersion = join(folder, 'build-version');
  if (existsSync(buildVersion)) return readFileSync(buildVersion, 'utf8').trim() || null;
  const cmake = join(folder, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake');
  if (existsSync(cmake)) return /PACKAGE_VERSION "([^"]+)"/.exec(readFileSync(cmake, 'utf8'))?.[1] ?? null;
  return null;
}

/** A LibTorch folder (a libtorch/ archive root or a Python torch/ package): lib/libtorch_cpu.so, a version. */
function describeFolder(given, source) {
  if (!given || !existsSync(given)) return null;
  const root = realpathSync(given);
  const libDir = join(root, 'lib');
  if (!existsSync(join(libDir, 'libtorch_cpu.so'))) return null;
  return {
    root,
    libDir,
    version: readVersion(root) ?? 'unknown',
    cuda: existsSync(join(libDir, 'libtorch_cuda.so')),
    canBuild: existsSync(join(root, 'share', 'cmake', 'Torch')) && existsSync(join(root, 'include', 'torch')),
    source,
  };
}

function bypassVersionCheck() {
  return process.env.NODE_PEFT_BYPASS_VERSION_CHECK === '1';
}

function matchesSeries(found) {
  return seriesOf(found.version) === PINNED_SERIES || bypassVersionCheck();
}

function wrongVersion(found) {
  return new LibTorchError(`LibTorch ${found.version} found at ${found.root} (${found.source}), but node-peft needs ` +
    `LibTorch ${PINNED_SERIES}.x (torch ${PINNED_VERSION}). Point NODE_PEFT_LIBTORCH at a LibTorch ${PINNED_SERIES} ` +
    `folder, or set NODE_PEFT_BYPASS_VERSION_CHECK=1 to try anyway (unsupported).`, 'WRONG_VERSION');
}

/** The Python interpreter to ask: NODE_PEFT_PYTHON, else python3 on PATH. */
function pythonCommand() {
  return process.env.NODE_PEFT_PYTHON || 'python3';
}

// importlib's find_spec locates the torch package without importing it (22 ms instead of 1.4 s).
function pythonTorchFolder(python) {
  const probe = "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')";
  const result = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 20000 });
  if (result.status !== 0) return null;
  return result.stdout.trim() || null;
}

/** The per-user cache: NODE_PEFT_CACHE, else $XDG_CACHE_HOME/node-peft, else ~/.cache/node-peft. */
function cacheDir() {
  if (process.env.NODE_PEFT_CACHE) return process.env.NODE_PEFT_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'node-peft');
}

function libtorchCacheDir() {
  return join(cacheDir(), 'libtorch');
}

/** Complete LibTorch folders in the cache, newest version first. */
function cachedFolders() {
  const dir = libtorchCacheDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && existsSync(join(dir, name, COMPLETE_STAMP)))
    .sort()
    .reverse()
    .map((name) => join(dir, name));
}

function privateVenvPython(root) {
  const python = join(root, '.torch', 'venv', 'bin', 'python3');
  return root && existsSync(python) ? python : null;
}

/** Downloads are automatic at first use unless forbidden or in CI without consent (NODE_PEFT_DOWNLOAD=1). */
function downloadPolicy(env = process.env) {
  if (env.NODE_PEFT_NO_DOWNLOAD === '1' || env.NODE_PEFT_DOWNLOAD === '0') {
    return { allowed: false, why: 'NODE_PEFT_NO_DOWNLOAD=1 forbids downloads' };
  }
  if (env.NODE_PEFT_DOWNLOAD === '1') return { allowed: true, why: 'NODE_PEFT_DOWNLOAD=1' };
  const ciNames = ['CI', 'CONTINUOUS_INTEGRATION', 'GITHUB_ACTIONS', 'GITLAB_CI', 'BUILDKITE', 'JENKINS_URL', 'TF_BUILD'];
  const ci = ciNames.find((name) => env[name] && env[name] !== 'false' && env[name] !== '0');
  if (ci) return { allowed: false, why: `${ci} is set (a CI environment): set NODE_PEFT_DOWNLOAD=1 to allow the download` };
  return { allowed: true, why: 'first use' };
}

function waysOut(seen) {
  return [
    `LibTorch ${PINNED_SERIES} not found${seen.length ? ` (looked at: ${seen.join('; ')})` : ''}. Ways out:`,
    `  - npx node-peft install-libtorch   download LibTorch ${PINNED_VERSION} (CPU, ~200 MB) into ${libtorchCacheDir()}`,
    `      (mirror: NODE_PEFT_LIBTORCH_URL / NODE_PEFT_LIBTORCH_INDEX; cache: NODE_PEFT_CACHE)`,
    `  - NODE_PEFT_LIBTORCH=/path/to/libtorch   an unpacked LibTorch ${PINNED_SERIES} archive or a torch ${PINNED_SERIES} package folder`,
    `  - pip install torch==${PINNED_VERSION}   then NODE_PEFT_PYTHON=/path/to/that/python3 unless it is python3 on PATH`,
  ].join('\n');
}

/**
 * Finds LibTorch. Returns {root, libDir, version, cuda, canBuild, source}; throws a LibTorchError that names
 * what was found and the ways out. `root` (a development checkout) adds its private .torch/venv.
 * `requireBuildFiles` skips LibTorch folders without headers and CMake files (for building from source).
 */
function findLibTorch({ root = null, requireBuildFiles = false } = {}) {
  const seen = [];
  const usable = (found) => found && (!requireBuildFiles || found.canBuild);
  for (const name of ['NODE_PEFT_LIBTORCH', 'LIBTORCH']) {
    const folder = process.env[name];
    if (!folder) continue;
    const found = describeFolder(folder, name);
    if (!found) throw new LibTorchError(`${name}=${folder} is not a LibTorch folder (no lib/libtorch_cpu.so)`, 'NOT_A_FOLDER');
    if (!matchesSeries(found)) throw wrongVersion(found);
    if (requireBuildFiles && !found.canBuild) {
      throw new LibTorchError(`${name}=${folder} has no include/ and share/cmake/Torch: it can run node-peft but not build it`, 'NOT_A_FOLDER');
    }
    return found;
  }
  const pythons = [pythonCommand()];
  const venv = privateVenvPython(root);
  if (venv) pythons.push(venv);
  let wrong = null;
  for (const python of pythons) {
    const found = describeFolder(pythonTorchFolder(python), python === venv ? 'private copy (.torch/venv)' : `python torch (${python})`);
    if (!found) {
      seen.push(`${python}: no torch`);
      continue;
    }
    if (matchesSeries(found) && usable(found)) return found;
    seen.push(`${python}: torch ${found.version}`);
    wrong ??= found;
  }
  for (const folder of cachedFolders()) {
    const found = describeFolder(folder, `cache (${libtorchCacheDir()})`);
    if (found && matchesSeries(found) && usable(found)) return found;
    if (found) seen.push(`cache: LibTorch ${found.version}`);
  }
  if (!existsSync(libtorchCacheDir()) || cachedFolders().length === 0) seen.push(`cache ${libtorchCacheDir()}: empty`);
  const error = new LibTorchError(waysOut(seen), 'NOT_FOUND');
  if (wrong) error.message = `${wrongVersion(wrong).message}\n${error.message}`;
  throw error;
}

module.exports = {
  PINNED_SERIES,
  PINNED_VERSION,
  COMPLETE_STAMP,
  LibTorchError,
  seriesOf,
  describeFolder,
  pythonCommand,
  pythonTorchFolder,
  cacheDir,
  libtorchCacheDir,
  cachedFolders,
  downloadPolicy,
  findLibTorch,
};
