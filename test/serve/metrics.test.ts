// Metrics: nearest-rank percentiles, counts by route and status, batching counters.
import { describe, expect, test } from 'vitest';
import { Metrics, percentile } from '../../lib/serve/index.js';

describe('percentile', () => {
  test('nearest rank over unsorted values; 0 for none', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBe(0);
  });
});

describe('Metrics', () => {
  test('counts requests by route and status, and summarises latency per route', () => {
    const metrics = new Metrics();
    for (let i = 1; i <= 100; i++) metrics.recordRequest('POST /v1/predict', i === 100 ? 404 : 200, i);
    metrics.recordRequest('GET /health', 200, 0.5);
    const snapshot = metrics.snapshot({ adapters: ['a'], batchWindowMs: 2 }) as {
      requests: { total: number; by_route: Record<string, number>; by_status: Record<string, number> };
      latency: Record<string, { count: number; errors: number; p50_ms: number; p95_ms: number; max_ms: number }>;
      adapters: { loaded: number; names: string[] };
      tensors: { live: number };
      memory: { rss_bytes: number };
    };
    expect(snapshot.requests).toEqual({ total: 101, by_route: { 'POST /v1/predict': 100, 'GET /health': 1 }, by_status: { 200: 100, 404: 1 } });
    expect(snapshot.latency['POST /v1/predict']).toMatchObject({ count: 100, errors: 1, p50_ms: 50, p95_ms: 95, max_ms: 100 });
    expect(snapshot.adapters).toEqual({ loaded: 1, names: ['a'] });
    expect(snapshot.tensors.live).toBeGreaterThanOrEqual(0);
    expect(snapshot.memory.rss_bytes).toBeGreaterThan(0);
  });

  test('batching counters: only requests that shared a forward count as batched', () => {
    const metrics = new Metrics();
    metrics.recordBatch(1, 1, false);
    metrics.recordBatch(3, 4, true);
    metrics.recordFallback();
    expect(metrics.batching).toEqual({ batches: 2, batched_requests: 3, mixed_batches: 1, max_batch_requests: 3, max_batch_rows: 4, fallbacks: 1 });
  });
});
