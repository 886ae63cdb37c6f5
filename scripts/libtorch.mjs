// Finds LibTorch, in the order of DESIGN.md: NODE_PEFT_LIBTORCH / LIBTORCH, then a Python torch,
// then a private copy installed with pip into .torch/ (git-ignored). Shared by setup and the runtime loader.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

export const PINNED_SERIES = '2.13';
export const PINNED_VERSION = '2.13.0';

export function seriesOf(version) {
  const match = /^(\d+)\.(\d+)/.exec(version ?? '');
  return match ? `${match[1]}.${match[2]}` : null;
}

// A LibTorch folder: lib/ with libtorch_cpu, include/ and share/cmake/Torch for building.
function describeFolder(given, source) {
  if (!existsSync(given)) return null;
  const folder = realpathSync(given);
  const lib = join(folder, 'lib');
  if (!existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  let version = null;
  const versionPy = join(folder, 'version.py');
  const buildVersion = join(folder, 'build-version');
  if (existsSync(versionPy)) version = /__version__\s*=\s*'([^']+)'/.exec(readFileSync(versionPy, 'utf8'))?.[1] ?? null;
  else if (existsSync(buildVersion)) version = readFileSync(buildVersion, 'utf8').trim();
  if (!version) {
    const cmake = join(folder, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake');
    if (existsSync(cmake)) version = /PACKAGE_VERSION "([^"]+)"/.exec(readFileSync(cmake, 'utf8'))?.[1] ?? null;
  }
  const cuda = existsSync(join(lib, 'libtorch_cuda.so'));
  return { root: folder, libDir: lib, version: version ?? 'unknown', cuda, source };
}

function pythonTorchFolder(python) {
  const probe = "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s else '')";
  const result = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 20000 });
  if (result.status !== 0) return null;
  const folder = result.stdout.trim();
  return folder || null;
}

function privateFolder(root) {
  const venv = join(root, '.torch', 'venv');
  const site = join(venv, 'lib');
  if (!existsSync(site)) return null;
  const python = join(venv, 'bin', 'python3');
  return pythonTorchFolder(python);
}

function installPrivate(root, log) {
  const venv = join(root, '.torch', 'venv');
  const python = process.env.NODE_PEFT_PYTHON || 'python3';
  log(`installing torch==${PINNED_VERSION} into ${venv} (pip, once)`);
  if (!existsSync(join(venv, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  // --no-deps: only the libraries, headers and CMake files are needed. --retries 0 keeps an offline machine fast.
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '--no-deps', '--retries', '0', '--timeout', '15',
    `torch==${PINNED_VERSION}`], { stdio: 'inherit' });
}

function acceptable(found) {
  return found && (seriesOf(found.version) === PINNED_SERIES || process.env.NODE_PEFT_BYPASS_VERSION_CHECK === '1');
}

// Returns {root, libDir, version, cuda, source}; throws an error naming what was found and how to fix it.
export function findLibTorch({ root, install = false, log = () => {} }) {
  const seen = [];
  for (const name of ['NODE_PEFT_LIBTORCH', 'LIBTORCH']) {
    const folder = process.env[name];
    if (!folder) continue;
    const found = describeFolder(folder, name);
    if (!found) throw new Error(`${name}=${folder} is not a LibTorch folder (no lib/libtorch_cpu.so)`);
    if (!acceptable(found)) {
      throw new Error(`${name} points to LibTorch ${found.version}, but node-peft is built for ${PINNED_SERIES}.x ` +
        `(set NODE_PEFT_BYPASS_VERSION_CHECK=1 to try anyway)`);
    }
    return found;
  }
  const python = process.env.NODE_PEFT_PYTHON || 'python3';
  const pyFolder = pythonTorchFolder(python);
  if (pyFolder) {
    const found = describeFolder(pyFolder, `python torch (${python})`);
    if (acceptable(found)) return found;
    if (found) seen.push(`${python} has torch ${found.version}`);
  }
  let folder = privateFolder(root);
  if (!folder && install) {
    installPrivate(root, log);
    folder = privateFolder(root);
  }
  if (folder) {
    const found = describeFolder(folder, 'private copy (.torch/venv)');
    if (acceptable(found)) return found;
    if (found) seen.push(`.torch/venv has torch ${found.version}`);
  }
  throw new Error(`LibTorch ${PINNED_SERIES}.x not found${seen.length ? ` (${seen.join('; ')})` : ''}. ` +
    `Set NODE_PEFT_LIBTORCH to a LibTorch ${PINNED_SERIES} folder, install torch==${PINNED_VERSION} for python3, ` +
    `or run "npm run setup" to install a private copy.`);
}
