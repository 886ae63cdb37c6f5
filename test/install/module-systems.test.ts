// `import` and `require('node-peft')` both work and give the same library; an empty NODE_PEFT_THREADS= is as if unset.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { REPO } from './consumer.js';

function node(args: string[], env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, args, { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
}

const PROBE = "const n = p.torch.ones([2, 3]).sum().item(); console.log(JSON.stringify({ n, peft: typeof p.PeftModel, threads: p.torch.getNumThreads() }))";

describe('module systems', () => {
  it('require() loads the CommonJS bundle and runs an op', () => {
    const out = node(['--input-type=commonjs', '-e', `const p = require('node-peft'); ${PROBE}`]);
    expect(JSON.parse(out)).toMatchObject({ n: 6, peft: 'function' });
  });

  it('import loads the ES module build and runs an op', () => {
    const out = node(['--input-type=module', '-e', `const p = await import('node-peft'); ${PROBE}`]);
    expect(JSON.parse(out)).toMatchObject({ n: 6, peft: 'function' });
  });

  it('both export the same names', () => {
    const cjs = node(['--input-type=commonjs', '-e', "console.log(Object.keys(require('node-peft')).sort().join(','))"]);
    const esm = node(['--input-type=module', '-e', "console.log(Object.keys(await import('node-peft')).filter((k) => k !== 'default').sort().join(','))"]);
    expect(cjs).toBe(esm);
  });
});

describe('NODE_PEFT_THREADS', () => {
  it('empty means unset: one thread per core, no error at import', () => {
    const out = node(['--input-type=module', '-e', `const p = await import('node-peft'); ${PROBE}`], { NODE_PEFT_THREADS: '' });
    expect(JSON.parse(out).threads).toBe(availableParallelism());
  });
});
