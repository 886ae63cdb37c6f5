// What GET /metrics reports: request counts (by route and status), latency percentiles over the most recent
// requests of each route, batching counters, and the process's live tensors and memory.
import { cpuCacheStats } from '../tensor/cpu-cache.js';
import { liveTensors } from '../tensor/tensor.js';

/** Latencies kept per route for the percentiles. */
const WINDOW = 1024;

interface RouteStats {
  count: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  recent: number[];
  next: number;
}

export interface LatencySummary {
  count: number;
  errors: number;
  mean_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface BatchingCounters {
  /** Forward passes run for predict requests. */
  batches: number;
  /** Requests that shared their forward pass with at least one other request. */
  batched_requests: number;
  /** Forward passes that mixed rows of different adapters (or base rows with adapter rows). */
  mixed_batches: number;
  max_batch_requests: number;
  max_batch_rows: number;
  /** Batches that failed as a whole and were re-run one request at a time. */
  fallbacks: number;
}

/** The p-th percentile (0..100) of the values, nearest-rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class Metrics {
  readonly #startedAt = Date.now();
  readonly #routes = new Map<string, RouteStats>();
  readonly #statuses = new Map<number, number>();
  readonly batching: BatchingCounters = { batches: 0, batched_requests: 0, mixed_batches: 0, max_batch_requests: 0, max_batch_rows: 0, fallbacks: 0 };

  /** One answered request: its route ('POST /v1/predict'), status and time from arrival to the last byte. */
  recordRequest(route: string, status: number, ms: number): void {
    let stats = this.#routes.get(route);
    if (!stats) {
      stats = { count: 0, errors: 0, totalMs: 0, maxMs: 0, recent: [], next: 0 };
      this.#routes.set(route, stats);
    }
    stats.count++;
    if (status >= 400) stats.errors++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
    if (stats.recent.length < WINDOW) stats.recent.push(ms);
    else stats.recent[stats.next] = ms;
    stats.next = (stats.next + 1) % WINDOW;
    this.#statuses.set(status, (this.#statuses.get(status) ?? 0) + 1);
  }

  recordBatch(requests: number, rows: number, mixed: boolean): void {
    const b = this.batching;
    b.batches++;
    if (requests > 1) b.batched_requests += requests;
    if (mixed) b.mixed_batches++;
    b.max_batch_requests = Math.max(b.max_batch_requests, requests);
    b.max_batch_rows = Math.max(b.max_batch_rows, rows);
  }

  recordFallback(): void {
    this.batching.fallbacks++;
  }

  latency(route: string): LatencySummary | null {
    const s = this.#routes.get(route);
    if (!s) return null;
    return {
      count: s.count, errors: s.errors, mean_ms: round(s.totalMs / s.count), p50_ms: round(percentile(s.recent, 50)),
      p95_ms: round(percentile(s.recent, 95)), p99_ms: round(percentile(s.recent, 99)), max_ms: round(s.maxMs),
    };
  }

  snapshot(extra: { adapters: string[]; batchWindowMs: number }): Record<string, unknown> {
    const memory = process.memoryUsage();
    const total = [...this.#routes.values()].reduce((n, s) => n + s.count, 0);
    return {
      uptime_s: round((Date.now() - this.#startedAt) / 1000),
      requests: {
        total,
        by_route: Object.fromEntries([...this.#routes.keys()].map((route) => [route, this.#routes.get(route)?.count ?? 0])),
        by_status: Object.fromEntries([...this.#statuses].map(([status, n]) => [String(status), n])),
      },
      latency: Object.fromEntries([...this.#routes.keys()].map((route) => [route, this.latency(route)])),
      batching: { window_ms: extra.batchWindowMs, ...this.batching },
      adapters: { loaded: extra.adapters.length, names: extra.adapters },
      tensors: { live: liveTensors() },
      memory: {
        rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed, external_bytes: memory.external,
        cpu_cache_bytes: cpuCacheStats()?.cachedBytes ?? 0,
      },
    };
  }
}
