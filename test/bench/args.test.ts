// `node-peft bench` arguments.
import { describe, expect, test } from 'vitest';
import { parseBenchArgs, WORKLOADS } from '../../lib/bench/args.js';
import { TorchError } from '../../lib/errors.js';

describe('parseBenchArgs', () => {
  test('no arguments: every workload, 10 steps, text output, Python found automatically, child processes', () => {
    expect(parseBenchArgs([])).toEqual({ workloads: [...WORKLOADS], steps: 10, threads: null, json: false, python: 'auto', inProcess: false, rounds: 1 });
  });

  test('workload names keep the canonical order and drop repeats; flags are read', () => {
    const args = parseBenchArgs(['vit', 'train', '--steps', '3', '--json', 'train', '--threads', '1', '--python', '/opt/py']);
    expect(args.workloads).toEqual(['train', 'vit']);
    expect(args).toMatchObject({ steps: 3, threads: 1, json: true, python: '/opt/py' });
  });

  test('--no-python, --in-process and --rounds', () => {
    expect(parseBenchArgs(['--no-python', '--in-process', '--rounds', '3'])).toMatchObject({ python: 'none', inProcess: true, rounds: 3 });
  });

  test('bad arguments name the flag and what was got', () => {
    expect(() => parseBenchArgs(['--steps', '0'])).toThrow(/--steps expects a positive integer, got '0'/);
    expect(() => parseBenchArgs(['--threads'])).toThrow(/--threads expects a positive integer, got nothing/);
    expect(() => parseBenchArgs(['speed'])).toThrow(TorchError);
    expect(() => parseBenchArgs(['speed'])).toThrow(/unknown argument 'speed'/);
  });
});
