// The Python that runs the interop checks: NODE_PEFT_INTEROP_PYTHON, a Python with torch, transformers, peft and
// safetensors. Without it the interop tests are skipped (the main suite never needs Python).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PythonCase } from './scenarios.js';

export const INTEROP_PYTHON_ENV = 'NODE_PEFT_INTEROP_PYTHON';
export const ENABLE_HINT =
  `set ${INTEROP_PYTHON_ENV}=/path/to/python (a Python with torch, transformers>=5, peft>=0.21 and safetensors), ` +
  `e.g. ${INTEROP_PYTHON_ENV}=/tmp/tv/venv/bin/python npx vitest run test/interop`;

const REQUIRED_MODULES = ['torch', 'transformers', 'peft', 'safetensors'];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHECK_SCRIPT = join(ROOT, 'scripts', 'interop', 'check_adapters.py');

/** The configured interpreter, or null when none is configured. A configured one lacking a module is an error. */
export function interopPython(): string | null {
  const python = process.env[INTEROP_PYTHON_ENV];
  if (!python) return null;
  const probe = `import importlib.util, sys; missing = [m for m in ${JSON.stringify(REQUIRED_MODULES)} if importlib.util.find_spec(m) is None]; print(','.join(missing))`;
  const missing = execFileSync(python, ['-c', probe], { encoding: 'utf8' }).trim();
  if (missing) throw new Error(`${INTEROP_PYTHON_ENV}=${python} lacks the Python modules ${missing}; ${ENABLE_HINT}`);
  return python;
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
