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

/** One Node run: in a fresh child process when compiled (its peak RSS is then its own), else in this process. */
async function runNode(name: WorkloadName, args: BenchArgs): Promise<BenchFields> {
  const entry = childEntry();
  if (args.inProcess || entry === null) {
    const { runWorkload } = await import('./run.js');
    return runWorkload(name, args.steps, args.threads);
  }
  const run = spawnSync(process.execPath, [entry, name, String(args.steps), String(args.threads ?? 0)], {
    encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`bench: workload ${name} failed in its child process (exit ${run.status ?? run.signal})`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as BenchFields;
}

/** The field that ranks runs of one workload, and whether higher is better. */
const PRIMARY: Record<string, [string, boolean]> = {
  'gemm-fp32': ['gflops', true], 'W1-train-lora': ['ms_per_step', false], 'W1b-train-lora-bf16': ['ms_per_step', false], 'W2-forward': ['lora_ms', false],
  'W3-multi-adapter-batch': ['ms', false], 'W4-adapter-swap': ['load_ms', false], 'W5-vit-seed': ['ms_per_step', false],
};

function primary(workload: unknown): [string, boolean] {
  return PRIMARY[String(workload)] ?? ['ms', false];
}

function best(a: BenchFields | null, b: BenchFields): BenchFields {
  if (a === null) return b;
  const [field, higher] = primary(b.workload);
  const [x, y] = [Number(a[field]), Number(b[field])];
  return (higher ? y > x : y < x) ? b : a;
}

function withPeakFraction(train: BenchFields, gemm: BenchFields | undefined): BenchFields {
  if (!gemm || typeof train.gflops !== 'number' || typeof gemm.peak_gflops !== 'number') return train;
  return { ...train, gemm_peak_gflops: gemm.peak_gflops, peak_fraction: train.gflops / gemm.peak_gflops };
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
    let pythonFields: BenchFields | null = null;
    let pythonError: string | null = null;
    let nodeBest: BenchFields | null = null;
    const roundRatios: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      let pythonRound: BenchFields | null = null;
      if (python && PYTHON_WORKLOADS.has(name) && pythonError === null) {
        try {
          pythonRound = runReference(python.path, name, args.steps, args.threads);
          pythonFields = best(pythonFields, pythonRound);
        } catch (error) {
          pythonError = (error as Error).message;
        }
      }
      const nodeRound = await runNode(name, args);
      nodeBest = best(nodeBest, nodeRound);
      const field = primary(nodeRound.workload)[0];
      if (pythonRound && typeof nodeRound[field] === 'number' && typeof pythonRound[field] === 'number') {
        roundRatios.push(Number(nodeRound[field]) / Number(pythonRound[field]));
      }
    }
    let node = nodeBest as BenchFields;
    if (name === 'gemm') gemm = node;
    if (name === 'train') node = withPeakFraction(node, gemm);
    const report = makeReport(node, pythonFields, pythonError, { field: primary(node.workload)[0], values: roundRatios });
    reports.push(report);
    console.log(args.json ? jsonLine(report) : `${textBlock(report)}\n`);
  }
  const missed = reports.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.node.workload}: ${t.what}`));
  if (!args.json && missed.length > 0) console.log(`targets missed: ${missed.join('; ')}`);
  return 0;
}
