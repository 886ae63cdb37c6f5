// Request batching by adapter: predict requests that arrive within a short window and have equal input shapes
// (apart from the batch dimension) run as one forward pass, each row with its request's adapter (PeftModel's
// adapter_names forward when they differ); every request gets its own rows back. A batch that fails as a whole
// is re-run one request at a time, so each request gets its own answer or error.
import type { NestedNumbers } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { concatInputs, type ParsedInputs, toTensors } from './inputs.js';
import type { Metrics } from './metrics.js';
import type { AdapterRegistry } from './registry.js';

export interface PredictJob {
  adapter: string | null;
  inputs: ParsedInputs;
}

export interface BatcherOptions {
  /** How long the first request of a batch waits for others (ms); 0 = no batching, each request runs alone. */
  windowMs: number;
  /** A batch runs as soon as it holds this many rows. */
  maxBatchRows: number;
}

interface Pending extends PredictJob {
  resolve(rows: NestedNumbers[]): void;
  reject(error: unknown): void;
}

export class PredictBatcher {
  readonly #registry: AdapterRegistry;
  readonly #metrics: Metrics;
  readonly options: BatcherOptions;
  /** Waiting requests by input signature, in arrival order. */
  readonly #waiting = new Map<string, Pending[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(registry: AdapterRegistry, metrics: Metrics, options: BatcherOptions) {
    this.#registry = registry;
    this.#metrics = metrics;
    this.options = options;
  }

  /** The logits rows of this request (one per input row), as nested arrays. */
  submit(job: PredictJob): Promise<NestedNumbers[]> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { ...job, resolve, reject };
      if (this.options.windowMs <= 0) {
        this.#registry.schedule(() => this.#run([pending])).catch(reject);
        return;
      }
      const key = job.inputs.signature;
      const queue = this.#waiting.get(key) ?? [];
      queue.push(pending);
      this.#waiting.set(key, queue);
      if (queue.reduce((n, p) => n + p.inputs.rows, 0) >= this.options.maxBatchRows) this.#flushSoon(key);
      else if (!this.#timers.has(key)) this.#timers.set(key, setTimeout(() => this.#flushSoon(key), this.options.windowMs));
    });
  }

  #flushSoon(key: string): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    const queue = this.#waiting.get(key) ?? [];
    this.#waiting.delete(key);
    // a promise settles once: rejecting requests that were already answered does nothing
    if (queue.length > 0) this.#registry.schedule(() => this.#flush(queue)).catch((error: unknown) => queue.forEach((p) => p.reject(error)));
  }

  /** Splits what waited into batches of at most maxBatchRows rows whose adapters can share a forward. */
  #flush(queue: Pending[]): void {
    let batch: Pending[] = [];
    let rows = 0;
    const runBatch = (): void => {
      if (batch.length === 0) return;
      if (this.#registry.canMix(batch.map((p) => p.adapter))) this.#run(batch);
      else for (const group of groupByAdapter(batch)) this.#run(group);
      batch = [];
      rows = 0;
    };
    for (const pending of queue) {
      if (rows > 0 && rows + pending.inputs.rows > this.options.maxBatchRows) runBatch();
      batch.push(pending);
      rows += pending.inputs.rows;
    }
    runBatch();
  }

  #run(batch: Pending[]): void {
    const merged = concatInputs(batch.map((p) => p.inputs));
    const rowAdapters = batch.flatMap((p) => new Array<string | null>(p.inputs.rows).fill(p.adapter));
    let logits: NestedNumbers[];
    try {
      logits = noGrad(() =>
        scope(() => {
          const tensors = toTensors(merged, { floatDtype: this.#registry.floatDtype, device: this.#registry.device });
          const out = this.#registry.forward(tensors, rowAdapters).logits;
          return (out.dtype === 'float32' ? out : out.to('float32')).toList() as NestedNumbers[];
        }),
      );
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      this.#metrics.recordFallback();
      for (const pending of batch) this.#run([pending]);
      return;
    }
    this.#metrics.recordBatch(batch.length, merged.rows, new Set(rowAdapters).size > 1);
    let offset = 0;
    for (const pending of batch) {
      pending.resolve(logits.slice(offset, offset + pending.inputs.rows));
      offset += pending.inputs.rows;
    }
  }

  /** Runs whatever is waiting now (used when the server closes). */
  flushAll(): void {
    for (const key of [...this.#waiting.keys()]) this.#flushSoon(key);
  }
}

function groupByAdapter(batch: readonly Pending[]): Pending[][] {
  const groups = new Map<string | null, Pending[]>();
  for (const p of batch) groups.set(p.adapter, [...(groups.get(p.adapter) ?? []), p]);
  return [...groups.values()];
}
