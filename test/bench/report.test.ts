// node/python ratios and the Speed targets.
import { describe, expect, test } from 'vitest';
import { jsonLine, makeReport, textBlock } from '../../lib/bench/report.js';

const python = { workload: 'W1-train-lora', ms_per_step: 200, peak_rss_mb: 600, tokens_per_s: 2560, torch: '2.13.0+cpu', threads: 2 };

describe('makeReport', () => {
  test('ratios are node/python for the shared time and memory fields', () => {
    const node = { ...python, ms_per_step: 100, peak_rss_mb: 540, peak_fraction: 0.75 };
    const report = makeReport(node, python);
    expect(report.ratios.ms_per_step).toBeCloseTo(0.5);
    expect(report.ratios.peak_rss_mb).toBeCloseTo(0.9);
    expect(report.ratios.tokens_per_s).toBeUndefined();
    expect(report.targets.map((t) => [t.what, t.met])).toEqual([
      ['ms_per_step node/python', true], ['peak_rss node/python', true], ['fraction of fp32 GEMM peak', true],
    ]);
  });

  test('gemm: the chosen path must reach 85% of the best fp32 GEMM, at 2048^3 and at the worst W1 shape', () => {
    const gemm = makeReport({ workload: 'gemm-fp32', gemm_path: 'mkl', chosen_fraction: 0.45, chosen_fraction_w1: 0.9 }, null);
    expect(gemm.targets.map((t) => [t.what, t.limit, t.met])).toEqual([
      ['chosen fp32 GEMM path / best (2048^3)', 0.85, false], ['chosen fp32 GEMM path / best (worst W1 shape)', 0.85, true],
    ]);
  });

  test('a missed target is reported as missed; without Python only the absolute targets apply', () => {
    const slow = makeReport({ ...python, ms_per_step: 190 }, python);
    expect(slow.targets.find((t) => t.what === 'ms_per_step node/python')?.met).toBe(false);
    const swap = makeReport({ workload: 'W4-adapter-swap', load_ms: 7, switch_ms: 0.01 }, null);
    expect(swap.targets.map((t) => [t.what, t.met])).toEqual([['load_ms', false], ['switch_ms', true]]);
  });

  test('W1b: node/python ms_per_step <= 0.35, peak RSS <= 1.0x, the loss after 50 steps within 2% of float32', () => {
    const py = { workload: 'W1b-train-lora-bf16', ms_per_step: 17700, peak_rss_mb: 700 };
    const report = makeReport({ ...py, ms_per_step: 400, peak_rss_mb: 450, loss_rel_diff: 0.001 }, py);
    expect(report.targets.map((t) => [t.what, t.met])).toEqual([
      ['ms_per_step node/python', true], ['peak_rss node/python', true], ['loss after 50 steps vs float32 (relative)', true],
    ]);
    expect(makeReport({ ...py, loss_rel_diff: 0.03 }, null).targets.map((t) => t.met)).toEqual([false]);
  });

  test('the JSON line keeps the reference field names at the top level and nests python and ratios', () => {
    const line = JSON.parse(jsonLine(makeReport({ ...python, ms_per_step: 180 }, python)));
    expect(line.workload).toBe('W1-train-lora');
    expect(line.ms_per_step).toBe(180);
    expect(line.python.ms_per_step).toBe(200);
    expect(line.ratios.ms_per_step).toBeCloseTo(0.9);
  });

  test('the text block shows both sides and the ratio', () => {
    const text = textBlock(makeReport({ ...python, ms_per_step: 180 }, python));
    expect(text).toMatch(/ms_per_step\s+180\.0\s+200\.0\s+0\.900/);
    expect(text).toMatch(/target ms_per_step node\/python <= 0\.55: 0\.9000 MISSED/);
  });

  test('with several rounds, the per-round node/python of the ranking field is shown and kept in the JSON', () => {
    const rounds = { field: 'ms_per_step', values: [0.91, 0.97, 0.88] };
    const report = makeReport({ ...python, ms_per_step: 180 }, python, null, rounds);
    expect(textBlock(report)).toMatch(/rounds: ms_per_step node\/python 0\.910 0\.970 0\.880/);
    expect(JSON.parse(jsonLine(report)).round_ratios).toEqual(rounds);
    expect(makeReport({ ...python, ms_per_step: 180 }, python, null, { field: 'ms_per_step', values: [0.9] }).roundRatios).toBeUndefined();
  });
});
