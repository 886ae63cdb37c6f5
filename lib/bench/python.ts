// The Python side: find a Python whose torch can run bench/reference.py, and run one workload in it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot, referenceScript } from './paths.js';

export interface PythonFound {
  path: string;
  torch: string;
}

export interface PythonMissing {
  /** Each candidate tried and why it cannot run the reference. */
  tried: string[];
  hint: string;
}

export type PythonResult = Record<string, number | string>;

const PROBE = 'import json, torch; print(json.dumps({"torch": torch.__version__}))';

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** Candidates in order: NODE_PEFT_PYTHON, python3 on PATH, the project's private .torch/venv python. */
export function pythonCandidates(explicit: string): string[] {
  if (explicit !== 'auto') return [explicit];
  const out: string[] = [];
  if (process.env.NODE_PEFT_PYTHON) out.push(process.env.NODE_PEFT_PYTHON);
  out.push('python3');
  const venv = join(packageRoot(), '.torch', 'venv', 'bin', 'python');
  if (existsSync(venv)) out.push(venv);
  return out;
}

export function findPython(explicit: string): PythonFound | PythonMissing {
  const tried: string[] = [];
  for (const path of pythonCandidates(explicit)) {
    const probe = spawnSync(path, ['-c', PROBE], { encoding: 'utf8', timeout: 60_000 });
    if (probe.error) {
      tried.push(`${path}: ${probe.error.message}`);
      continue;
    }
    if (probe.status !== 0) {
      tried.push(`${path}: ${lastLine(probe.stderr)}`);
      continue;
    }
    const { torch } = JSON.parse(lastLine(probe.stdout)) as { torch: string };
    return { path, torch };
  }
  const hint =
    'install torch 2.13 for a Python and point NODE_PEFT_PYTHON at it: `python3 -m pip install torch==2.13.0`. ' +
    "The project's .torch/venv holds torch installed with --no-deps (its libraries only); to make it import, run " +
    '`.torch/venv/bin/python -m pip install typing_extensions sympy networkx jinja2 fsspec filelock`.';
  return { tried, hint };
}

/**
 * Runs `reference.py <workload>` (generate: reference_generate.py, which prints one JSON line per case) and returns
 * its rows, or throws with the Python error's last line.
 */
export function runReference(python: string, workload: string, steps: number, threads: number | null): PythonResult[] {
  const own = workload === 'generate';
  const args = own ? [referenceScript(workload)] : [referenceScript(), workload, '--steps', String(steps)];
  if (threads !== null) args.push('--threads', String(threads));
  const run = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${own ? 'reference_generate.py' : 'reference.py'} ${workload} failed: ${lastLine(run.stderr)}`);
  if (!own) return [JSON.parse(lastLine(run.stdout)) as PythonResult];
  return run.stdout.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as PythonResult);
}
