// The HTTP thread's side of a generation: admission (a cap on requests in the system: 429 past it), one
// engine sequence per choice, text and stop strings per choice, cancellation (client gone, timeout), and
// the latency metrics (time to first token, inter-token) measured where the client sees them.
import { randomUUID } from 'node:crypto';
import { HttpError } from './http-error.js';
import type { ServerMetrics } from './prom-metrics.js';
import type { FinishReason } from './sequence.js';
import { type DecodeIds, TextStream } from './text-stream.js';
import type { ModelWorker } from './worker-client.js';

export interface ChoiceSpec {
  promptIds: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
  seed: number | null;
}

export interface GenerationJob {
  adapter: string | null;
  choices: ChoiceSpec[];
  stop: string[];
  stopTokenIds: number[];
  /** Aborts the generation (client disconnected). */
  signal: AbortSignal;
  /** New text of a choice, as soon as it is safe to emit. */
  onDelta?(choice: number, text: string): void;
}

export interface ChoiceResult {
  text: string;
  /** The generated ids (a stop token included; tokens after a stop string too). */
  tokenIds: number[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

export interface ServiceOptions {
  /** Generation requests in the system at most (queued + running); more get 429 (default 256). */
  maxQueuedRequests: number;
  /** A request running longer is stopped with 504 (default 600 s; 0 = none). */
  requestTimeoutMs: number;
}

export class GenerationService {
  readonly #worker: ModelWorker;
  readonly #metrics: ServerMetrics;
  readonly #decode: DecodeIds | null;
  readonly options: ServiceOptions;
  #inSystem = 0;

  constructor(worker: ModelWorker, metrics: ServerMetrics, decode: DecodeIds | null, options: ServiceOptions) {
    this.#worker = worker;
    this.#metrics = metrics;
    this.#decode = decode;
    this.options = options;
  }

  get inSystem(): number {
    return this.#inSystem;
  }

  /** Runs every choice to its end; rejects with HttpError (before or after text was emitted). */
  async run(job: GenerationJob): Promise<ChoiceResult[]> {
    if (this.#inSystem >= this.options.maxQueuedRequests) {
      this.#metrics.rejected.inc({ reason: 'queue_full' });
      throw new HttpError(429, `the server is at capacity (${this.options.maxQueuedRequests} requests in progress); retry shortly`, null, 'queue_full');
    }
    this.#inSystem++;
    try {
      return await Promise.all(job.choices.map((spec, index) => this.#runChoice(job, spec, index)));
    } finally {
      this.#inSystem--;
    }
  }

  #runChoice(job: GenerationJob, spec: ChoiceSpec, index: number): Promise<ChoiceResult> {
    const id = randomUUID();
    const stream = new TextStream(this.#decode ?? (() => ''), job.stop, spec.promptIds);
    const tokenIds: number[] = [];
    const arrived = performance.now();
    let last = arrived;
    let produced = 0;
    return new Promise<ChoiceResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const stopNow = (): void => this.#worker.cancel(id);
      const cleanup = (): void => {
        clearTimeout(timer);
        job.signal.removeEventListener('abort', stopNow);
      };
      if (job.signal.aborted) {
        reject(new HttpError(499, 'the client closed the request'));
        return;
      }
      job.signal.addEventListener('abort', stopNow);
      if (this.options.requestTimeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          stopNow();
        }, this.options.requestTimeoutMs);
      }
      this.#worker.generate({
        id, adapter: job.adapter, promptIds: spec.promptIds, maxTokens: spec.maxTokens, stopTokenIds: job.stopTokenIds,
        sampling: { temperature: spec.temperature, topP: spec.topP || 1e-9, topK: spec.topK ?? 0, seed: spec.seed === null ? null : spec.seed + index },
      }, {
        onTokens: (tokens) => {
          const now = performance.now();
          if (produced === 0) this.#metrics.ttft.observe((now - arrived) / 1000);
          else this.#metrics.itl.observe((now - last) / 1000 / tokens.length);
          last = now;
          produced += tokens.length;
          tokenIds.push(...tokens);
          this.#metrics.generationTokens.inc(tokens.length);
          if (stream.stopped) return;
          const delta = stream.push(tokens);
          if (delta !== '') job.onDelta?.(index, delta);
          if (stream.stopped) stopNow(); // a stop string: the rest would be thrown away
        },
        onFinish: (end) => {
          cleanup();
          this.#metrics.finished.inc({ finished_reason: stream.stopped ? 'stop' : end.reason });
          this.#metrics.promptTokens.inc(end.promptTokens);
          this.#metrics.e2e.observe((performance.now() - arrived) / 1000);
          if (stream.stopped) {
            resolve({ text: stream.text, tokenIds, finishReason: 'stop', promptTokens: end.promptTokens, completionTokens: end.completionTokens });
            return;
          }
          const failure = this.#failure(end.reason, timedOut, end.error);
          if (failure) {
            reject(failure);
            return;
          }
          const tail = stream.finish();
          if (tail !== '') job.onDelta?.(index, tail);
          resolve({ text: stream.text, tokenIds, finishReason: end.reason as 'stop' | 'length', promptTokens: end.promptTokens, completionTokens: end.completionTokens });
        },
        onReject: (error) => {
          cleanup();
          this.#metrics.rejected.inc({ reason: String(error.status) });
          reject(error);
        },
      });
    });
  }

  #failure(reason: FinishReason, timedOut: boolean, error?: string): HttpError | null {
    if (reason === 'stop' || reason === 'length') return null;
    if (timedOut) return new HttpError(504, `the request took longer than ${this.options.requestTimeoutMs} ms and was stopped`, null, 'timeout');
    if (reason === 'abort') return new HttpError(499, 'the client closed the request');
    return new HttpError(500, `generation failed: ${error ?? 'unknown error'}`);
  }
}
