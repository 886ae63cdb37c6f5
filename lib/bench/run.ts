// Runs one workload by name in this process.
import type { WorkloadName } from './args.js';
import type { BenchFields, WorkloadContext } from './result.js';
import { cacheWorkload } from './workloads/cache.js';
import { forwardWorkload } from './workloads/forward.js';
import { generateWorkload } from './workloads/generate.js';
import { gemmWorkload } from './workloads/gemm.js';
import { multiWorkload } from './workloads/multi.js';
import { swapWorkload } from './workloads/swap.js';
import { trainWorkload } from './workloads/train.js';
import { trainBf16Workload } from './workloads/train-bf16.js';
import { serveWorkload } from './workloads/serve.js';
import { vitWorkload } from './workloads/vit.js';
import { getNumThreads, setNumThreads, versions } from '../tensor/runtime.js';

const RUNNERS: Record<WorkloadName, (ctx: WorkloadContext) => BenchFields | BenchFields[] | Promise<BenchFields>> = {
  gemm: gemmWorkload,
  train: trainWorkload,
  'train-bf16': (ctx) => trainBf16Workload(ctx),
  forward: forwardWorkload,
  multi: multiWorkload,
  swap: swapWorkload,
  vit: vitWorkload,
  serve: serveWorkload,
  cache: cacheWorkload,
  generate: generateWorkload,
};

/** The workload's rows, one per case (generate has several, the others one). */
export async function runWorkloadRows(name: WorkloadName, steps: number, threads: number | null, warmup = 3): Promise<BenchFields[]> {
  if (threads !== null) setNumThreads(threads);
  const fields = await RUNNERS[name]({ steps, warmup });
  return [fields].flat().map((row) => ({ ...row, torch: versions().libtorch, threads: getNumThreads() }));
}

/** The workload's first (for most, only) row. */
export async function runWorkload(name: WorkloadName, steps: number, threads: number | null, warmup = 3): Promise<BenchFields> {
  return (await runWorkloadRows(name, steps, threads, warmup))[0];
}
