// /metrics in Prometheus' text format (prom-client), named after vLLM's under the nodepeft_ prefix: requests,
// tokens, time to first token, inter-token latency, queue depth, batch size, loaded adapters, evictions.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdapterEvent, EngineStats } from './protocol.js';

// vLLM's buckets (seconds)
const TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const E2E = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'nodepeft_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  readonly requestSeconds = new Histogram({ name: 'nodepeft_http_request_duration_seconds', help: 'Time from arrival to the last byte, by route', labelNames: ['route'] as const, buckets: E2E, registers: [this.registry] });
  readonly promptTokens = new Counter({ name: 'nodepeft_prompt_tokens_total', help: 'Prompt tokens of generation requests', registers: [this.registry] });
  readonly generationTokens = new Counter({ name: 'nodepeft_generation_tokens_total', help: 'Tokens generated', registers: [this.registry] });
  readonly finished = new Counter({ name: 'nodepeft_request_success_total', help: 'Generation requests ended, by finish reason', labelNames: ['finished_reason'] as const, registers: [this.registry] });
  readonly ttft = new Histogram({ name: 'nodepeft_time_to_first_token_seconds', help: 'From arrival to the first generated token', buckets: TTFT, registers: [this.registry] });
  readonly itl = new Histogram({ name: 'nodepeft_inter_token_latency_seconds', help: 'Between consecutive generated tokens of a request', buckets: ITL, registers: [this.registry] });
  readonly e2e = new Histogram({ name: 'nodepeft_e2e_request_latency_seconds', help: 'From arrival to the last generated token', buckets: E2E, registers: [this.registry] });
  readonly running = new Gauge({ name: 'nodepeft_num_requests_running', help: 'Sequences in the decode batch', registers: [this.registry] });
  readonly waiting = new Gauge({ name: 'nodepeft_num_requests_waiting', help: 'Generation requests queued (HTTP thread and engine)', registers: [this.registry] });
  readonly kvUsage = new Gauge({ name: 'nodepeft_kv_cache_usage_perc', help: 'Fraction of KV cache blocks in use', registers: [this.registry] });
  readonly batchSize = new Histogram({ name: 'nodepeft_step_batch_size', help: 'Rows per decode step', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });
  readonly adaptersLoaded = new Gauge({ name: 'nodepeft_adapters_resident', help: 'Adapters loaded in memory', registers: [this.registry] });
  readonly adapterLoads = new Counter({ name: 'nodepeft_adapter_loads_total', help: 'Adapter loads, by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly adapterLoadSeconds = new Histogram({ name: 'nodepeft_adapter_load_seconds', help: 'Time to load an adapter', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30], registers: [this.registry] });
  readonly evictions = new Counter({ name: 'nodepeft_adapter_evictions_total', help: 'Idle adapters evicted by the LRU', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'nodepeft_requests_rejected_total', help: 'Requests refused before starting, by reason', labelNames: ['reason'] as const, registers: [this.registry] });

  recordStep(stats: EngineStats, queuedOnHttpThread: number): void {
    this.running.set(stats.running);
    this.waiting.set(stats.waiting + queuedOnHttpThread);
    this.kvUsage.set(stats.kvUsage);
    this.adaptersLoaded.set(stats.loadedAdapters);
    if (stats.decodeRows > 0) this.batchSize.observe(stats.decodeRows);
  }

  recordAdapter(event: AdapterEvent): void {
    if (event.kind === 'evict') {
      this.evictions.inc();
      return;
    }
    this.adapterLoads.inc({ result: event.ok ? 'ok' : 'error' });
    if (event.ok) this.adapterLoadSeconds.observe(event.seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
