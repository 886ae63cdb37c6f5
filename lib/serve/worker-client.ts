// The HTTP thread's handle on the model worker: starts it, calls its methods, and routes each generation's
// tokens and end to the callbacks of the request that asked for it.
import { Worker } from 'node:worker_threads';
import type { StepResult } from './engine.js';
import { HttpError } from './http-error.js';
import type { AdapterEvent, EngineStats, FromWorker, ModelInfo, SerializedError, ToWorker, WorkerOptions } from './protocol.js';
import type { FinishReason, GenerationRequest } from './sequence.js';

export interface GenerationHandlers {
  onTokens(tokens: number[]): void;
  onFinish(end: { reason: FinishReason; promptTokens: number; completionTokens: number; error?: string }): void;
  /** The request could not start (unknown adapter, too long, ...): nothing was generated. */
  onReject(error: HttpError): void;
}

export interface WorkerEvents {
  onStep?(stats: EngineStats, finished: StepResult['finished']): void;
  onAdapter?(event: AdapterEvent): void;
  log?(line: string): void;
}

const toHttpError = (e: SerializedError): HttpError => new HttpError(e.status, e.message, e.param ?? null, e.code ?? null);

/** The worker's entry beside this file; from TypeScript sources (tests) it is loaded through tsx. */
function spawnWorker(options: WorkerOptions): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./worker-main.js', here), { workerData: options });
  const entry = new URL('./worker-main.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}

export class ModelWorker {
  readonly info: ModelInfo;
  readonly #worker: Worker;
  readonly #events: WorkerEvents;
  readonly #calls = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  readonly #generations = new Map<string, GenerationHandlers>();
  #nextCall = 0;
  #exited: Error | null = null;
  #resident = 0;

  private constructor(worker: Worker, info: ModelInfo, events: WorkerEvents) {
    this.#worker = worker;
    this.info = info;
    this.#events = events;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => this.#fail(new Error(`the model worker exited (code ${code})`)));
  }

  /** Starts the worker; resolves once the model and the start-up adapters are loaded. */
  static start(options: WorkerOptions, events: WorkerEvents = {}): Promise<ModelWorker> {
    const worker = spawnWorker(options);
    let resident = 0;
    return new Promise((resolve, reject) => {
      const early = (message: FromWorker): void => {
        if (message.op === 'log') events.log?.(message.line);
        else if (message.op === 'adapter') {
          resident = message.resident;
          events.onAdapter?.(message.event);
        }
        else if (message.op === 'startFailed') {
          worker.off('message', early);
          void worker.terminate();
          reject(toHttpError(message.error));
        } else if (message.op === 'ready') {
          worker.off('message', early);
          worker.off('error', reject);
          const client = new ModelWorker(worker, message.info, events);
          client.#resident = resident;
          resolve(client);
        }
      };
      worker.on('message', early);
      worker.once('error', reject);
    });
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#exited) return Promise.reject(new HttpError(503, this.#exited.message));
    const callId = this.#nextCall++;
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(callId, { resolve: resolve as (value: unknown) => void, reject });
      this.#post({ op: 'call', callId, method, args });
    });
  }

  generate(request: GenerationRequest, handlers: GenerationHandlers): void {
    if (this.#exited) {
      handlers.onReject(new HttpError(503, this.#exited.message));
      return;
    }
    this.#generations.set(request.id, handlers);
    this.#post({ op: 'generate', request });
  }

  /** Stops a generation at the worker's next step; its onFinish comes with reason 'abort'. */
  cancel(id: string): void {
    if (this.#generations.has(id)) this.#post({ op: 'cancel', id });
  }

  /** Adapters in the worker's memory (as of its last report). */
  get residentAdapters(): number {
    return this.#resident;
  }

  /** Requests generating or waiting to. */
  get activeGenerations(): number {
    return this.#generations.size;
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #receive(message: FromWorker): void {
    switch (message.op) {
      case 'reply': {
        const call = this.#calls.get(message.callId);
        this.#calls.delete(message.callId);
        if (message.ok) call?.resolve(message.value);
        else call?.reject(toHttpError(message.error));
        break;
      }
      case 'step': {
        const byId = new Map<string, number[]>();
        for (const [id, token] of message.tokens) byId.set(id, [...(byId.get(id) ?? []), token]);
        for (const [id, tokens] of byId) this.#generations.get(id)?.onTokens(tokens);
        for (const end of message.finished) {
          const handlers = this.#generations.get(end.id);
          this.#generations.delete(end.id);
          handlers?.onFinish(end);
        }
        this.#events.onStep?.(message.stats, message.finished);
        break;
      }
      case 'rejected': {
        const handlers = this.#generations.get(message.id);
        this.#generations.delete(message.id);
        handlers?.onReject(toHttpError(message.error));
        break;
      }
      case 'adapter':
        this.#resident = message.resident;
        this.#events.onAdapter?.(message.event);
        break;
      case 'log':
        this.#events.log?.(message.line);
        break;
      default:
        break;
    }
  }

  #fail(error: Error): void {
    if (this.#exited) return;
    this.#exited = error;
    const failure = new HttpError(503, `the model worker stopped: ${error.message}`);
    for (const call of this.#calls.values()) call.reject(failure);
    this.#calls.clear();
    for (const handlers of this.#generations.values()) handlers.onFinish({ reason: 'error', promptTokens: 0, completionTokens: 0, error: failure.message });
    this.#generations.clear();
  }

  async close(): Promise<void> {
    this.#exited ??= new Error('the server is closing');
    await this.#worker.terminate();
  }
}
