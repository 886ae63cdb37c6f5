// Each workload runs one untimed-warm-up-free step and returns reference.py's field names (not a timing test).
import { describe, expect, test } from 'vitest';
import { runWorkload } from '../../lib/bench/run.js';
import { loraTrainFlops } from '../../lib/bench/flops.js';
import { LLAMA } from '../../lib/bench/models.js';
import { LOSS_STEPS, trainBf16Workload } from '../../lib/bench/workloads/train-bf16.js';

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('workloads', () => {
  test('gemm: the fp32 GEMM rate', async () => {
    const r = await runWorkload('gemm', 1, null, 0);
    expect(r.workload).toBe('gemm-fp32');
    expect(r.n).toBe(2048);
    expect(positive(r.gflops)).toBe(true);
    expect(r.gflops).toBeCloseTo((2 * 2048 ** 3) / (r.ms as number) / 1e6);
  });

  test('gemm: each fp32 path at 2048^3 and the W1 shapes, the chosen path and its share of the best', async () => {
    const r = await runWorkload('gemm', 1, null, 0);
    for (const f of ['mkl_gflops', 'mkl_512x512x1376', 'mkl_512x1376x512', 'mkl_512x512x8000', 'best_gflops']) expect(positive(r[f]), f).toBe(true);
    expect(['mkl', 'onednn']).toContain(r.gemm_path);
    expect(r.best_gflops).toBe(Math.max(r.mkl_gflops as number, (r.onednn_gflops as number | undefined) ?? 0));
    for (const f of ['chosen_fraction', 'chosen_fraction_w1']) {
      expect(r[f] as number, f).toBeGreaterThan(0);
      expect(r[f] as number, f).toBeLessThanOrEqual(1);
    }
  });

  test('W1 train: ms_per_step, tokens_per_s, peak RSS and the model FLOPs', async () => {
    const r = await runWorkload('train', 1, null, 0);
    expect(r.workload).toBe('W1-train-lora');
    for (const f of ['ms_per_step', 'min', 'max', 'tokens_per_s', 'peak_rss_mb', 'gflops']) expect(positive(r[f]), f).toBe(true);
    expect(r.tokens_per_s).toBeCloseTo((4 * 128 * 1000) / (r.ms_per_step as number));
    expect(r.model_gflop).toBeCloseTo(loraTrainFlops(LLAMA, { r: 16, targetsPerLayer: 4 }, 4) / 1e9);
    expect(typeof r.torch).toBe('string');
    expect(positive(r.threads)).toBe(true);
  });

  test('W1b train bf16: reference.py fields, the loss (after N steps) next to float32 from the same seed', () => {
    const r = trainBf16Workload({ steps: 1, warmup: 0 }, 0); // the bench trains LOSS_STEPS (50) steps per dtype first
    expect(LOSS_STEPS).toBe(50);
    expect(r.workload).toBe('W1b-train-lora-bf16');
    for (const f of ['ms_per_step', 'min', 'max', 'tokens_per_s', 'peak_rss_mb', 'loss_after_50', 'loss_fp32_after_50']) expect(positive(r[f]), f).toBe(true);
    expect(r.loss_rel_diff).toBeCloseTo(Math.abs((r.loss_after_50 as number) - (r.loss_fp32_after_50 as number)) / (r.loss_fp32_after_50 as number));
    expect(r.loss_rel_diff).toBeLessThan(0.02);
    expect(['bf16', 'fp32']).toContain(r.bf16_gemm);
  });

  test('W2 forward: base, unmerged and merged timings and their ratio', async () => {
    const r = await runWorkload('forward', 1, null, 0);
    expect(r.workload).toBe('W2-forward');
    for (const f of ['base_ms', 'lora_ms', 'merged_ms']) expect(positive(r[f]), f).toBe(true);
    expect(r.lora_overhead).toBeCloseTo((r.lora_ms as number) / (r.base_ms as number));
  });

  test('W3 multi-adapter batch: ms, tokens_per_s and the base forward of the same batch', async () => {
    const r = await runWorkload('multi', 1, null, 0);
    expect(r.workload).toBe('W3-multi-adapter-batch');
    for (const f of ['ms', 'tokens_per_s', 'base_ms']) expect(positive(r[f]), f).toBe(true);
    expect(r.overhead_vs_base).toBeCloseTo((r.ms as number) / (r.base_ms as number));
  });

  test('W4 adapter swap: load and switch times', async () => {
    const r = await runWorkload('swap', 1, null, 0);
    expect(r.workload).toBe('W4-adapter-swap');
    expect(positive(r.load_ms)).toBe(true);
    expect(positive(r.switch_ms)).toBe(true);
  });

  test('W5 ViT seed: ms_per_step and peak RSS', async () => {
    const r = await runWorkload('vit', 1, null, 0);
    expect(r.workload).toBe('W5-vit-seed');
    for (const f of ['ms_per_step', 'peak_rss_mb']) expect(positive(r[f]), f).toBe(true);
  });

  test('cache: the CPU cache against LibTorch\'s allocator on varying shapes, each in its own process', async () => {
    const r = await runWorkload('cache', 1, null, 0);
    expect(r.workload).toBe('cpu-cache-varying-shapes');
    for (const f of ['cache_s', 'malloc_s', 'cache_cpu_s', 'malloc_cpu_s', 'cache_faults', 'malloc_faults', 'cache_peak_rss_mb']) {
      expect(positive(r[f]), f).toBe(true);
    }
    expect(r.slowdown).toBeCloseTo((r.cache_s as number) / (r.malloc_s as number));
  });

  test('the FLOPs of one W1 step count forward, input gradients and LoRA, not frozen weight gradients', () => {
    const flops = loraTrainFlops(LLAMA, { r: 16, targetsPerLayer: 4 }, 4);
    const tokens = 4 * 128;
    const linear = 2 * tokens * (4 * (4 * 512 * 512 + 3 * 512 * 1376) + 512 * 8000);
    expect(flops).toBeGreaterThan(2 * linear - 2 * tokens * 3 * 512 * 512);
    expect(flops / 1e9).toBeCloseTo(35.903, 2);
  });
});
