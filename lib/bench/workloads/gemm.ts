// fp32 GEMM 2048^3: this machine's practical matmul peak, the yardstick for W1's fraction of peak.
import { manualSeed } from '../../tensor/runtime.js';
import { randn } from '../../tensor/creation.js';
import type { BenchFields, WorkloadContext } from '../result.js';
import { timed } from '../timing.js';

export const GEMM_SIZE = 2048;

export function gemmFlops(n: number): number {
  return 2 * n ** 3;
}

export function gemmWorkload(ctx: WorkloadContext, n = GEMM_SIZE): BenchFields {
  manualSeed(0);
  const a = randn([n, n]);
  const b = randn([n, n]);
  try {
    const t = timed(() => a.mm(b).dispose(), ctx.steps, ctx.warmup);
    // gflops from the median, as reference.py; peak_gflops from the fastest call, W1's yardstick.
    return { workload: 'gemm-fp32', n, ms: t.median, gflops: gemmFlops(n) / t.median / 1e6, peak_gflops: gemmFlops(n) / t.min / 1e6 };
  } finally {
    a.dispose();
    b.dispose();
  }
}
