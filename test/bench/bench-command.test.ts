// benchCommand: the `node-peft bench` entry point the CLI calls.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { benchCommand } from '../../lib/bench/index.js';

afterEach(() => vi.restoreAllMocks());

describe('benchCommand', () => {
  test('--json prints one JSON object per workload, with the reference field names', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const code = await benchCommand(['gemm', '--steps', '1', '--json', '--no-python', '--in-process']);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const row = JSON.parse(lines[0]);
    expect(row).toMatchObject({ workload: 'gemm-fp32', n: 2048 });
    expect(row.gflops).toBeGreaterThan(0);
  });

  test('a bad argument returns exit code 2 and says why', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    expect(await benchCommand(['--steps', 'many'])).toBe(2);
    expect(errors.join('\n')).toMatch(/--steps expects a positive integer, got 'many'/);
  });
});
