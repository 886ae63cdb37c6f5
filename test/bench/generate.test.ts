// W6 (`bench generate`): the Python side's rows (reference_generate.py prints one JSON line per case), which
// Python row each Node row is compared with, and the done-when targets per row. No Python or model needed.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pythonRowFor } from '../../lib/bench/index.js';
import { runReference } from '../../lib/bench/python.js';
import { referenceScript } from '../../lib/bench/paths.js';
import { makeReport } from '../../lib/bench/report.js';

const b1 = { workload: 'W6-generate-b1', batch: 1, new_tokens: 64, prompt: 32, seconds: 0.64, tokens_per_s: 100, ms_per_token_step: 10 };
const b8 = { ...b1, workload: 'W6-generate-b8-mixed', batch: 8, seconds: 2.3, tokens_per_s: 222, ms_per_token_step: 36 };

describe('bench generate', () => {
  test('runs bench/reference_generate.py and keeps every JSON row it prints', () => {
    expect(referenceScript('generate')).toMatch(/bench[/\\]reference_generate\.py$/);
    const dir = mkdtempSync(join(tmpdir(), 'gen-bench-'));
    const fake = join(dir, 'python');
    writeFileSync(fake, `#!/bin/sh\necho "$1" >&2\necho 'loading...'\necho '${JSON.stringify(b1)}'\necho '${JSON.stringify(b8)}'\n`);
    chmodSync(fake, 0o755);
    expect(runReference(fake, 'generate', 10, 2)).toEqual([b1, b8]);
  });

  test('each Node row meets the Python row of its name; the bfloat16 row meets fp32 b1', () => {
    const rows = new Map([[b1.workload, b1], [b8.workload, b8]]);
    expect(pythonRowFor({ ...b8, ms_per_token_step: 9 }, rows)).toBe(b8);
    expect(pythonRowFor({ ...b1, workload: 'W6-generate-b1-bf16' }, rows)).toBe(b1);
    expect(pythonRowFor({ workload: 'W2-forward' }, rows)).toBeNull();
  });

  test('targets: b1 <= 0.5 of Python, the 8-adapter batch and the bfloat16 base <= 0.3', () => {
    const check = (node: Record<string, number | string>, python: Record<string, number | string>) =>
      makeReport(node, python).targets.map((t) => [t.limit, t.met]);
    expect(check({ ...b1, ms_per_token_step: 4.9 }, b1)).toEqual([[0.5, true]]);
    expect(check({ ...b8, ms_per_token_step: 12 }, b8)).toEqual([[0.3, false]]);
    expect(check({ ...b1, workload: 'W6-generate-b1-bf16', ms_per_token_step: 2.9 }, b1)).toEqual([[0.3, true]]);
  });
});
