// fp32 GEMM: at::mm at 2048^3 (the op reference.py times), and each fp32 path frozen Linear weights can take (MKL,
// oneDNN with the weight packed) at 2048^3 and at W1's shapes, calls interleaved; best_gflops, the fastest rate found at
// 2048^3, is W1's yardstick; chosen_fraction (2048^3) and chosen_fraction_w1 (the worst W1 shape) are the chosen path's
// share of the best, the "fp32 GEMM >= 85% of the best" target.
import { gemmChoice, measureGemm, type GemmRates } from '../../tensor/gemm.js';
import { manualSeed } from '../../tensor/runtime.js';
import { randn } from '../../tensor/creation.js';
import { LLAMA } from '../models.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { timed } from '../timing.js';
import { TRAIN_BATCH } from './train.js';

export const GEMM_SIZE = 2048;

export function gemmFlops(n: number): number {
  return 2 * n ** 3;
}

/** W1's products [rows, in] x [in, out]: attention projections, MLP up and down, lm_head. */
export function w1Shapes(): [number, number, number][] {
  const rows = TRAIN_BATCH * LLAMA.seq;
  return [[rows, LLAMA.hidden, LLAMA.hidden], [rows, LLAMA.hidden, LLAMA.intermediate], [rows, LLAMA.intermediate, LLAMA.hidden],
    [rows, LLAMA.hidden, LLAMA.vocab]];
}

/** GFLOP/s of each path: mkl_gflops / onednn_gflops at 2048^3, mkl_MxKxN / onednn_MxKxN at a W1 shape. */
function pathFields(label: string | null, rates: GemmRates): BenchFields {
  const name = (path: string): string => (label === null ? `${path}_gflops` : `${path}_${label}`);
  const fields: BenchFields = { [name('mkl')]: rates.mkl };
  if (rates.onednn !== null) fields[name('onednn')] = rates.onednn;
  return fields;
}

export function gemmWorkload(ctx: WorkloadContext, n = GEMM_SIZE): BenchFields {
  manualSeed(0);
  const a = randn([n, n]);
  const b = randn([n, n]);
  try {
    const t = timed(() => a.mm(b).dispose(), ctx.steps, ctx.warmup);
    const chosen = gemmChoice().path;
    const rounds = Math.max(3, ctx.steps);
    const big = measureGemm(n, n, n, rounds);
    const fields: BenchFields = { ...pathFields(null, big) };
    let worstShareOfBest = 1;
    for (const [m, k, nn] of w1Shapes()) {
      const rates = measureGemm(m, k, nn, rounds);
      Object.assign(fields, pathFields(`${m}x${k}x${nn}`, rates));
      worstShareOfBest = Math.min(worstShareOfBest, rateOf(rates, chosen) / Math.max(rates.mkl, rates.onednn ?? 0));
    }
    const best = Math.max(big.mkl, big.onednn ?? 0);
    // gflops from the median, as reference.py; peak_gflops from the fastest at::mm call.
    return {
      workload: 'gemm-fp32', n, ms: t.median, gflops: gemmFlops(n) / t.median / 1e6, peak_gflops: gemmFlops(n) / t.min / 1e6,
      ...fields, best_gflops: best, gemm_path: chosen, chosen_fraction: rateOf(big, chosen) / best,
      chosen_fraction_w1: worstShareOfBest,
    };
  } finally {
    a.dispose();
    b.dispose();
  }
}

function rateOf(rates: GemmRates, path: 'mkl' | 'onednn'): number {
  return path === 'onednn' && rates.onednn !== null ? rates.onednn : rates.mkl;
}
