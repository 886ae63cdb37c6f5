// `node-peft bench` arguments: workload names, --steps, --threads, --json, --python, --no-python, --in-process.
import { TorchError } from '../errors.js';

export const WORKLOADS = ['gemm', 'train', 'train-bf16', 'forward', 'multi', 'swap', 'vit', 'generate', 'serve', 'cache'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Workloads the Python reference also runs (bench/reference.py; generate: bench/reference_generate.py). */
export const PYTHON_WORKLOADS: ReadonlySet<WorkloadName> = new Set(['gemm', 'train', 'train-bf16', 'forward', 'multi', 'vit', 'generate']);

export interface BenchArgs {
  workloads: WorkloadName[];
  steps: number;
  /** Intra-op threads for both sides; null = each side's default (Node: NODE_PEFT_THREADS or one per core). */
  threads: number | null;
  json: boolean;
  /** 'auto' = NODE_PEFT_PYTHON, python3, the project's .torch/venv python; 'none' = skip the reference. */
  python: string;
  /** Run each workload in this process instead of a fresh child (peak RSS then accumulates across workloads). */
  inProcess: boolean;
  /** Python/Node runs alternated per workload; each side keeps its best run (shared machines drift). */
  rounds: number;
}

export const BENCH_USAGE = `usage: node-peft bench [${WORKLOADS.join('|')}|all ...] [--steps N] [--threads N] [--json]
                        [--python PATH | --no-python] [--in-process] [--rounds N]`;

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1) {
    throw new TorchError(`bench: ${flag} expects a positive integer, got ${value === undefined ? 'nothing' : `'${value}'`}`);
  }
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { workloads: [], steps: 10, threads: null, json: false, python: 'auto', inProcess: false, rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--steps') args.steps = positiveInt(arg, argv[++i]);
    else if (arg === '--threads') args.threads = positiveInt(arg, argv[++i]);
    else if (arg === '--rounds') args.rounds = positiveInt(arg, argv[++i]);
    else if (arg === '--python') {
      const path = argv[++i];
      if (!path) throw new TorchError('bench: --python expects the path of a Python executable');
      args.python = path;
    } else if (arg === '--no-python') args.python = 'none';
    else if (arg === '--in-process') args.inProcess = true;
    else if (arg === 'all') args.workloads.push(...WORKLOADS);
    else if ((WORKLOADS as readonly string[]).includes(arg)) args.workloads.push(arg as WorkloadName);
    else throw new TorchError(`bench: unknown argument '${arg}' (workloads: ${WORKLOADS.join(', ')}, all)\n${BENCH_USAGE}`);
  }
  if (args.workloads.length === 0) args.workloads = [...WORKLOADS];
  args.workloads = WORKLOADS.filter((w) => args.workloads.includes(w));
  return args;
}
