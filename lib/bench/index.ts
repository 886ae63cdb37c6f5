// `node-peft bench`: the workloads of bench/WORKLOADS.md in Node, each beside the Python reference (bench/reference.py)
// run in the same invocation when a Python with torch is found, with node/python ratios and the Speed targets.
import { spawnSync } from 'node:child_process';
import { BENCH_USAGE, parseBenchArgs, PYTHON_WORKLOADS, type BenchArgs, type WorkloadName } from './args.js';
import { childEntry } from './paths.js';
import { findPython, runReference, type PythonFound } from './python.js';
import { jsonLine, makeReport, textBlock, type WorkloadReport } from './report.js';
import type { BenchFields } from './result.js';

export { parseBenchArgs, type BenchArgs } from './args.js';
export { makeReport, type WorkloadReport } from './report.js';

/** One Node run (its rows): in a fresh child process when compiled (its peak RSS is then its own), else in this process. */
async function runNode(name: WorkloadName, args: BenchArgs): Promise<BenchFields[]> {
  const entry = childEntry();
  if (args.inProcess || entry === null) {
    const { runWorkloadRows } = await import('./run.js');
    return runWorkloadRows(name, args.steps, args.threads);
  }
  const run = spawnSync(process.execPath, [entry, name, String(args.steps), String(args.threads ?? 0)], {
    encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`bench: workload ${name} failed in its child process (exit ${run.status ?? run.signal})`);
  const lines = run.stdout.trim().split('\n');
  return [JSON.parse(lines[lines.length - 1]) as BenchFields | BenchFields[]].flat();
}

/** The field that ranks runs of one workload, and whether higher is better. */
const PRIMARY: Record<string, [string, boolean]> = {
  'gemm-fp32': ['gflops', true], 'W1-train-lora': ['ms_per_step', false], 'W1b-train-lora-bf16': ['ms_per_step', false], 'W2-forward': ['lora_ms', false],
  'W3-multi-adapter-batch': ['ms', false], 'W4-adapter-swap': ['load_ms', false], 'W5-vit-seed': ['ms_per_step', false],
  'W6-generate-b1': ['ms_per_token_step', false], 'W6-generate-b8-mixed': ['ms_per_token_step', false],
  'W6-generate-b1-bf16': ['ms_per_token_step', false],
};

/** Node rows Python has no case of its own for, compared with the Python row they must beat (W6 bf16: Python's fp32 b1). */
const PYTHON_COUNTERPART: Record<string, string> = { 'W6-generate-b1-bf16': 'W6-generate-b1' };

export function pythonRowFor(node: BenchFields, pythonRows: ReadonlyMap<string, BenchFields>): BenchFields | null {
  const name = String(node.workload);
  return pythonRows.get(name) ?? pythonRows.get(PYTHON_COUNTERPART[name] ?? '') ?? null;
}

function primary(workload: unknown): [string, boolean] {
  return PRIMARY[String(workload)] ?? ['ms', false];
}

function best(a: BenchFields | null, b: BenchFields): BenchFields {
  if (a === null) return b;
  const [field, higher] = primary(b.workload);
  const [x, y] = [Number(a[field]), Number(b[field])];
  return (higher ? y > x : y < x) ? b : a;
}

/** W1's rate against the fastest fp32 GEMM path the gemm workload found (at::mm's fastest call without it). */
function withPeakFraction(train: BenchFields, gemm: BenchFields | undefined): BenchFields {
  const peak = gemm?.best_gflops ?? gemm?.peak_gflops;
  if (typeof train.gflops !== 'number' || typeof peak !== 'number') return train;
  return { ...train, gemm_peak_gflops: peak, peak_fraction: train.gflops / peak };
}

export async function benchCommand(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(BENCH_USAGE);
    return 0;
  }
  // W1's fraction of peak needs this machine's GEMM rate from the same run.
  if (args.workloads.includes('train') && !args.workloads.includes('gemm')) args.workloads.unshift('gemm');
  let python: PythonFound | null = null;
  if (args.python !== 'none') {
    const found = findPython(args.python);
    if ('path' in found) python = found;
    else console.error(`bench: no Python reference this run (${found.tried.join('; ')}).\n  ${found.hint}`);
  }
  const reports: WorkloadReport[] = [];
  let gemm: BenchFields | undefined;
  for (const name of args.workloads) {
    // per row name (a workload may have several cases): each side's best round and node/python per round
    const pythonBest = new Map<string, BenchFields>();
    const nodeBest = new Map<string, BenchFields>();
    const roundRatios = new Map<string, number[]>();
    let pythonError: string | null = null;
    for (let round = 0; round < args.rounds; round++) {
      const pythonRound = new Map<string, BenchFields>();
      if (python && PYTHON_WORKLOADS.has(name) && pythonError === null) {
        try {
          // reference_generate.py's rows do not say which torch and threads ran them: the probe and the flag do
          const ran: BenchFields = { torch: python.torch, threads: args.threads ?? 'default' };
          for (const row of runReference(python.path, name, args.steps, args.threads).map((r): BenchFields => ({ ...ran, ...r }))) {
            pythonRound.set(String(row.workload), row);
            pythonBest.set(String(row.workload), best(pythonBest.get(String(row.workload)) ?? null, row));
          }
        } catch (error) {
          pythonError = (error as Error).message;
        }
      }
      for (const nodeRow of await runNode(name, args)) {
        const key = String(nodeRow.workload);
        nodeBest.set(key, best(nodeBest.get(key) ?? null, nodeRow));
        const field = primary(key)[0];
        const pythonRow = pythonRowFor(nodeRow, pythonRound);
        if (pythonRow && typeof nodeRow[field] === 'number' && typeof pythonRow[field] === 'number') {
          roundRatios.set(key, [...(roundRatios.get(key) ?? []), Number(nodeRow[field]) / Number(pythonRow[field])]);
        }
      }
    }
    for (let [key, node] of nodeBest) {
      if (name === 'gemm') gemm = node;
      if (name === 'train') node = withPeakFraction(node, gemm);
      const report = makeReport(node, pythonRowFor(node, pythonBest), pythonError, { field: primary(key)[0], values: roundRatios.get(key) ?? [] });
      reports.push(report);
      console.log(args.json ? jsonLine(report) : `${textBlock(report)}\n`);
    }
  }
  const missed = reports.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.node.workload}: ${t.what}`));
  if (!args.json && missed.length > 0) console.log(`targets missed: ${missed.join('; ')}`);
  return 0;
}
