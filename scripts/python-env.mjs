#!/usr/bin/env node
// The project's private Python (.torch/venv) gets the reference implementation the interop tests compare against:
// PEFT 0.21 + transformers 5.17 (+ safetensors), installed with pip as setup installs torch (offline here: pip's
// configured local indexes; --retries 0). Idempotent: a probe of the installed versions (well under a second) skips
// pip when they are already there. NODE_PEFT_SKIP_PYTHON_ENV=1 skips it (the interop tests are then skipped too).
// Usage: node scripts/python-env.mjs, or ensurePythonEnv({ root, log }) from setup.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON_PACKAGES = { peft: '0.21.0', transformers: '5.17.0', safetensors: null };

/** The private environment's interpreter (what the interop tests use by default). */
export function privatePython(root) {
  return join(root, '.torch', 'venv', 'bin', 'python3');
}

/** Packages missing or at another version than pinned, as pip requirement strings. */
function missingRequirements(python) {
  const probe = [
    'import importlib.metadata as m, json, sys',
    'out = {}',
    `for name in ${JSON.stringify(Object.keys(PYTHON_PACKAGES))}:`,
    '    try: out[name] = m.version(name)',
    '    except m.PackageNotFoundError: out[name] = None',
    'print(json.dumps(out))',
  ].join('\n');
  const result = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 30000 });
  if (result.status !== 0) return Object.entries(PYTHON_PACKAGES).map(([name, version]) => (version ? `${name}==${version}` : name));
  const installed = JSON.parse(result.stdout);
  return Object.entries(PYTHON_PACKAGES)
    .filter(([name, version]) => installed[name] === null || (version !== null && installed[name] !== version))
    .map(([name, version]) => (version ? `${name}==${version}` : name));
}

export function ensurePythonEnv({ root, log = () => {} }) {
  if (process.env.NODE_PEFT_SKIP_PYTHON_ENV === '1') {
    log('NODE_PEFT_SKIP_PYTHON_ENV=1: not installing PEFT/transformers (interop tests will be skipped)');
    return;
  }
  const venv = join(root, '.torch', 'venv');
  const python = privatePython(root);
  if (!existsSync(python)) {
    const base = process.env.NODE_PEFT_PYTHON || 'python3';
    log(`creating ${venv} (${base} -m venv)`);
    execFileSync(base, ['-m', 'venv', venv], { stdio: 'inherit' });
  }
  const wanted = missingRequirements(python);
  if (wanted.length === 0) return;
  log(`installing ${wanted.join(' ')} into ${venv} for the interop tests (pip, once)`);
  try {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '15', ...wanted], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`pip could not install ${wanted.join(' ')} into ${venv} (${error instanceof Error ? error.message.split('\n')[0] : error}); ` +
      'set NODE_PEFT_SKIP_PYTHON_ENV=1 to skip the Python reference (and its interop tests)');
  }
  const still = missingRequirements(python);
  if (still.length > 0) throw new Error(`after pip install, ${venv} still lacks ${still.join(' ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensurePythonEnv({ root: resolve(dirname(fileURLToPath(import.meta.url)), '..'), log: (m) => console.error(`[python-env] ${m}`) });
  } catch (error) {
    console.error(`[python-env] failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
