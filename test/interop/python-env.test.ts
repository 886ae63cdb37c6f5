// scripts/python-env.mjs: setup's step that gives the private Python (.torch/venv) PEFT 0.21 + transformers 5.17.
// Once they are there it only probes versions (no pip); NODE_PEFT_SKIP_PYTHON_ENV=1 skips it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'python-env.mjs');

function run(env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stderr: result.stderr };
}

describe.skipIf(process.env.NODE_PEFT_SKIP_PYTHON_ENV === '1')('python-env.mjs', () => {
  it('is a no-op when the pinned packages are installed: exit 0, nothing installed', () => {
    const { status, stderr } = run();
    expect(status, stderr).toBe(0);
    expect(stderr).not.toMatch(/installing/);
  });

  it('the private Python has the pinned versions', () => {
    const python = join(ROOT, '.torch', 'venv', 'bin', 'python3');
    const out = spawnSync(python, ['-c', 'import peft, transformers; print(peft.__version__, transformers.__version__)'], { encoding: 'utf8' });
    expect(out.stdout.trim()).toBe('0.21.0 5.17.0');
  });
});

describe('python-env.mjs opt-out', () => {
  it('NODE_PEFT_SKIP_PYTHON_ENV=1 skips it', () => {
    const { status, stderr } = run({ NODE_PEFT_SKIP_PYTHON_ENV: '1' });
    expect(status).toBe(0);
    expect(stderr).toMatch(/NODE_PEFT_SKIP_PYTHON_ENV=1: not installing/);
  });
});
