// Side-by-side results: node/python ratios, the done-when targets of the Speed issue, text and JSON lines.
import type { BenchFields } from './result.js';

/** Fields compared as node/python (times and memory: lower is better; gflops: higher is better). */
export const RATIO_FIELDS = ['ms_per_step', 'ms', 'base_ms', 'lora_ms', 'merged_ms', 'peak_rss_mb', 'gflops', 'ms_per_token_step'] as const;

export interface TargetCheck {
  what: string;
  value: number;
  /** value must be <= limit, or >= limit when atLeast. */
  limit: number;
  atLeast?: boolean;
  met: boolean;
}

export interface WorkloadReport {
  node: BenchFields;
  python: BenchFields | null;
  pythonError: string | null;
  ratios: Record<string, number>;
  targets: TargetCheck[];
  /**
   * With --rounds N: node/python of the ranking field for each round (Python, then Node, run back to back), to show
   * how far the machine drifted; ratios and targets use each side's best round.
   */
  roundRatios?: { field: string; values: number[] };
}

export function ratios(node: BenchFields, python: BenchFields | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!python) return out;
  for (const field of RATIO_FIELDS) {
    const n = node[field];
    const p = python[field];
    if (typeof n === 'number' && typeof p === 'number' && p > 0) out[field] = n / p;
  }
  return out;
}

function check(what: string, value: number | string | undefined, limit: number, atLeast = false): TargetCheck[] {
  if (typeof value !== 'number' || !Number.isFinite(value)) return [];
  return [{ what, value, limit, atLeast, met: atLeast ? value >= limit : value <= limit }];
}

/** The done-when targets that apply to one workload's result. */
export function targetsFor(node: BenchFields, r: Record<string, number>): TargetCheck[] {
  switch (node.workload) {
    case 'gemm-fp32':
      return [...check('chosen fp32 GEMM path / best (2048^3)', node.chosen_fraction, 0.85, true),
        ...check('chosen fp32 GEMM path / best (worst W1 shape)', node.chosen_fraction_w1, 0.85, true)];
    case 'W1-train-lora':
      return [...check('ms_per_step node/python', r.ms_per_step, 0.55), ...check('peak_rss node/python', r.peak_rss_mb, 1.0),
        ...check('fraction of fp32 GEMM peak', node.peak_fraction, 0.7, true)];
    case 'W1b-train-lora-bf16':
      return [...check('ms_per_step node/python', r.ms_per_step, 0.35), ...check('peak_rss node/python', r.peak_rss_mb, 1.0),
        ...check('loss after 50 steps vs float32 (relative)', node.loss_rel_diff, 0.02)];
    case 'W2-forward':
      return [...check('base_ms node/python', r.base_ms, 0.6), ...check('lora_ms node/python', r.lora_ms, 0.6),
        ...check('merged_ms node/python', r.merged_ms, 0.6), ...check('unmerged / base', node.lora_overhead, 1.05)];
    case 'W3-multi-adapter-batch':
      return [...check('ms node/python', r.ms, 0.6), ...check('ms / base forward of the batch', node.overhead_vs_base, 1.05)];
    case 'W4-adapter-swap':
      return [...check('load_ms', node.load_ms, 5), ...check('switch_ms', node.switch_ms, 0.1)];
    case 'W5-vit-seed':
      return [...check('ms_per_step node/python', r.ms_per_step, 0.7), ...check('peak_rss node/python', r.peak_rss_mb, 1.0)];
    case 'cpu-cache-varying-shapes':
      return check('cache / malloc time', node.slowdown, 1.05);
    case 'W6-generate-b1':
      return check('ms_per_token_step node/python', r.ms_per_token_step, 0.5);
    case 'W6-generate-b8-mixed':
      return check('ms_per_token_step node/python', r.ms_per_token_step, 0.3);
    case 'W6-generate-b1-bf16':
      return check("ms_per_token_step node (bfloat16 base) / python's fp32 b1", r.ms_per_token_step, 0.3);
    default:
      return [];
  }
}

export function makeReport(node: BenchFields, python: BenchFields | null, pythonError: string | null = null,
  roundRatios?: { field: string; values: number[] }): WorkloadReport {
  const r = ratios(node, python);
  const report: WorkloadReport = { node, python, pythonError, ratios: r, targets: targetsFor(node, r) };
  if (roundRatios && roundRatios.values.length > 1) report.roundRatios = roundRatios;
  return report;
}

/** One JSON object per workload: node's fields (reference.py's names), then python, ratios and targets. */
export function jsonLine(report: WorkloadReport): string {
  const extra: Record<string, unknown> = {};
  if (report.python) extra.python = report.python;
  if (report.pythonError) extra.python_error = report.pythonError;
  if (Object.keys(report.ratios).length > 0) extra.ratios = report.ratios;
  if (report.targets.length > 0) extra.targets = report.targets;
  if (report.roundRatios) extra.round_ratios = report.roundRatios;
  return JSON.stringify({ ...report.node, ...extra });
}

function fmt(v: number | string | undefined): string {
  if (typeof v !== 'number') return v === undefined ? '-' : v;
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4);
}

const SKIP = new Set(['workload', 'torch', 'threads', 'min', 'max']);

export function textBlock(report: WorkloadReport): string {
  const { node, python } = report;
  const lines = [`${node.workload}  (torch ${node.torch}, ${node.threads} threads${python ? `; python torch ${python.torch}, ${python.threads} threads` : ''})`];
  const pad = (s: string, n: number) => s.padEnd(n);
  lines.push(`  ${pad('field', 22)}${pad('node', 12)}${pad('python', 12)}node/python`);
  for (const [key, value] of Object.entries(node)) {
    if (SKIP.has(key)) continue;
    const ratio = report.ratios[key];
    lines.push(`  ${pad(key, 22)}${pad(fmt(value), 12)}${pad(python ? fmt(python[key]) : '-', 12)}${ratio === undefined ? '' : ratio.toFixed(3)}`);
  }
  if (report.pythonError) lines.push(`  python: ${report.pythonError}`);
  if (report.roundRatios) {
    lines.push(`  rounds: ${report.roundRatios.field} node/python ${report.roundRatios.values.map((v) => v.toFixed(3)).join(' ')}`);
  }
  for (const t of report.targets) {
    lines.push(`  target ${t.what} ${t.atLeast ? '>=' : '<='} ${t.limit}: ${fmt(t.value)} ${t.met ? 'met' : 'MISSED'}`);
  }
  return lines.join('\n');
}
