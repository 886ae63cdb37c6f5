// Timing as bench/reference.py does it: warm-up calls, then the median (and min, max) of timed calls in ms.
import { performance } from 'node:perf_hooks';

export interface Timing {
  median: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function timed(fn: () => void, steps: number, warmup: number = 3): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

/** Peak resident set of this process in MB, as Python's ru_maxrss / 1024. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
