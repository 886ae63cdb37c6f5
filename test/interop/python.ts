// The Python that runs the interop checks: NODE_PEFT_INTEROP_PYTHON if set, else the project's private Python
// (.torch/venv), into which `npm test` (setup -> scripts/python-env.mjs) installs PEFT 0.21 + transformers 5.17.
// Only when neither has the modules (NODE_PEFT_SKIP_PYTHON_ENV=1) are the interop tests skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PythonCase } from './scenarios.js';

export const INTEROP_PYTHON_ENV = 'NODE_PEFT_INTEROP_PYTHON';
export const ENABLE_HINT =
  `run \`node scripts/python-env.mjs\` (installs PEFT + transformers into .torch/venv) or set ${INTEROP_PYTHON_ENV}=/path/to/python ` +
  '(a Python with torch, transformers>=5, peft>=0.21 and safetensors)';

const REQUIRED_MODULES = ['torch', 'transformers', 'peft', 'safetensors'];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHECK_SCRIPT = join(ROOT, 'scripts', 'interop', 'check_adapters.py');

const PRIVATE_PYTHON = join(ROOT, '.torch', 'venv', 'bin', 'python3');

function missingModules(python: string): string {
  const probe = `import importlib.util, sys; missing = [m for m in ${JSON.stringify(REQUIRED_MODULES)} if importlib.util.find_spec(m) is None]; print(','.join(missing))`;
  return execFileSync(python, ['-c', probe], { encoding: 'utf8' }).trim();
}

/**
 * The configured interpreter, else the private one when it has the modules, else null (skip). A configured one
 * lacking a module is an error; so is a private one without them unless NODE_PEFT_SKIP_PYTHON_ENV=1.
 */
export function interopPython(): string | null {
  const configured = process.env[INTEROP_PYTHON_ENV];
  if (configured) {
    const missing = missingModules(configured);
    if (missing) throw new Error(`${INTEROP_PYTHON_ENV}=${configured} lacks the Python modules ${missing}; ${ENABLE_HINT}`);
    return configured;
  }
  if (process.env.NODE_PEFT_SKIP_PYTHON_ENV === '1') return null;
  if (!existsSync(PRIVATE_PYTHON)) throw new Error(`no ${PRIVATE_PYTHON}: ${ENABLE_HINT}`);
  const missing = missingModules(PRIVATE_PYTHON);
  if (missing) throw new Error(`${PRIVATE_PYTHON} lacks the Python modules ${missing}; ${ENABLE_HINT}`);
  return PRIVATE_PYTHON;
}

export interface PythonCaseReport {
  name: string;
  error?: string;
  warnings: string[];
  load_results: Record<string, { missing_keys: string[]; unexpected_keys: string[] }>;
  keys?: Record<string, { in_file: number; in_file_not_in_peft_state_dict: string[]; in_peft_state_dict_not_in_file: string[] }>;
  non_adapter_keys?: Record<string, { base_parameter: string | null; loaded_into_base_parameter: boolean; requires_grad: boolean | null }>;
  logits_max_abs_diff?: Record<string, number | string>;
  accuracy?: Record<string, { python: number; node_peft?: number }>;
}

export interface PythonReport {
  versions: Record<string, string>;
  cases: Record<string, PythonCaseReport>;
}

/** Runs scripts/interop/check_adapters.py once over all cases (one Python start-up). */
export function runPythonChecks(python: string, cases: PythonCase[], specPath: string): PythonReport {
  writeFileSync(specPath, JSON.stringify({ cases }, null, 1));
  const stdout = execFileSync(python, [CHECK_SCRIPT, specPath], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout) as PythonReport;
}
