// The HTTP server of node-peft serve. The model and its adapters live in a worker thread (ModelWorker); this
// thread only parses, checks, queues and streams, so /health answers while the model is busy. Errors are
// {"error": message}, or OpenAI's shape on the OpenAI routes; close() stops accepting and drains.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { ApiKeys, exposureWarning } from './auth.js';
import { GenerationService } from './generation-service.js';
import { HttpError } from './http-error.js';
import { imageInputsFor } from './image-inputs.js';
import { openAIError } from './openai-routes.js';
import { ServerMetrics } from './prom-metrics.js';
import { findRoute, type ServeContext } from './routes.js';
import { loadTextCodec } from './text-codec.js';
import { ModelWorker } from './worker-client.js';

export interface ServeOptions {
  /** The Hugging Face model folder. */
  model: string;
  /** [name, adapter folder] pairs loaded before the server starts. */
  adapters?: readonly (readonly [string, string])[];
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: an ephemeral port (see RunningServer.url). */
  port?: number;
  /** The name `model` gives the base model (default: the model folder's name). */
  servedModelName?: string;
  /** Adapters named in requests are loaded on demand from <adapterRoot>/<name>; paths must lie inside it. */
  adapterRoot?: string;
  /** Image requests (/v1/predict {"images"}): paths must lie inside this folder (without it only base64 images). */
  imageRoot?: string;
  /** The image processor's folder (default: the model folder's preprocessor_config.json, else ViT's defaults). */
  processor?: string;
  /** Adapters kept in memory at most; the least recently used idle one is evicted (default: no limit). */
  maxLoadedAdapters?: number;
  /** API keys (default: NODE_PEFT_API_KEY when set); every route but /health and /metrics then needs one. */
  apiKeys?: string[];
  /** Sequences decoded together (default 32); 1 = a sequential server. */
  maxNumSeqs?: number;
  /** Prompt tokens prefilled per step (default 256). */
  maxPrefillTokens?: number;
  /** KV cache size in tokens (default maxNumSeqs · context length, at most 65536). */
  kvCacheTokens?: number;
  /** Intra-op threads for the model (default: NODE_PEFT_THREADS, else one per core). */
  threads?: number;
  /** Generation requests in progress at most; more get 429 with Retry-After (default 256). */
  maxQueuedRequests?: number;
  /** Generation requests running longer are stopped (default 600000 ms; 0 = none). */
  requestTimeoutMs?: number;
  /** How long a predict request waits for others to share its forward (default 2 ms; 0 = no batching). */
  batchWindowMs?: number;
  /** Predict rows per forward at most (default 64). */
  maxBatchRows?: number;
  /** Request bodies larger than this are refused with 413 (default 16 MiB). */
  maxBodyBytes?: number;
  /** Where the server writes what it does (default: nothing). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly worker: ModelWorker;
  readonly metrics: ServerMetrics;
  readonly http: Server;
  /** The name `model` gives the base model. */
  readonly modelName: string;
  /** Stops accepting connections, answers requests in flight, then stops the model worker. */
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1', port: 0, batchWindowMs: 2, maxBatchRows: 64, maxBodyBytes: 16 * 1024 * 1024,
  maxQueuedRequests: 256, requestTimeoutMs: 600_000,
};

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    if (!response.writableEnded) response.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function asHttpError(error: unknown, log: (line: string) => void): HttpError {
  if (error instanceof HttpError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  log(`error: ${error instanceof Error && error.stack ? error.stack : message}`);
  return new HttpError(500, message);
}

function errorHeaders(error: HttpError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.status === 429 || error.status === 503) headers['retry-after'] = '1';
  if (error.status === 401) headers['www-authenticate'] = 'Bearer';
  if (error.status === 500) headers['x-should-retry'] = 'false';
  if (error.status === 413) headers.connection = 'close'; // a refused upload may still be streaming in
  return headers;
}

async function handle(context: ServeContext, keys: ApiKeys, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  let routeName = 'unmatched';
  let openai = false;
  response.on('close', () => {
    context.metrics.requests.inc({ route: routeName, status: String(response.statusCode) });
    context.metrics.requestSeconds.observe({ route: routeName }, (performance.now() - started) / 1000);
  });
  try {
    const path = new URL(request.url ?? '/', 'http://server').pathname;
    const { route, params } = findRoute(request.method ?? 'GET', path);
    routeName = route.name;
    openai = route.openai ?? false;
    if (!route.open) keys.check(request);
    const reply = await route.handle(context, request, params, response);
    if (reply !== null) send(response, reply.status, reply.body, route.name === 'GET /metrics' ? { 'content-type': context.metrics.contentType } : {});
  } catch (error) {
    const failure = asHttpError(error, context.log);
    if (failure.status === 499) {
      response.destroy(); // the client is gone
      return;
    }
    send(response, failure.status, openai ? openAIError(failure) : { error: failure.message }, errorHeaders(failure));
  }
}

/** Loads the model (in a worker thread) and its adapters, then serves them until close(). */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const settings = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & ServeOptions;
  const log = options.log ?? (() => undefined);
  const keys = new ApiKeys(options.apiKeys ?? (process.env.NODE_PEFT_API_KEY ? [process.env.NODE_PEFT_API_KEY] : []));
  const warning = exposureWarning(settings.host, keys.enabled);
  if (warning !== null) log(warning);
  const metrics = new ServerMetrics();
  const worker = await ModelWorker.start({
    model: resolve(options.model), adapters: (options.adapters ?? []).map(([n, p]) => [n, p]),
    adapterRoot: options.adapterRoot ? resolve(options.adapterRoot) : null, maxLoadedAdapters: options.maxLoadedAdapters ?? null,
    batchWindowMs: settings.batchWindowMs, maxBatchRows: settings.maxBatchRows,
    maxNumSeqs: options.maxNumSeqs, maxPrefillTokens: options.maxPrefillTokens, kvCacheTokens: options.kvCacheTokens, threads: options.threads,
  }, {
    log,
    onAdapter: (event) => metrics.recordAdapter(event),
    onStep: (stats) => metrics.recordStep(stats, 0),
  });
  try {
    const codec = await loadTextCodec(options.model);
    const service = new GenerationService(worker, metrics, codec === null ? null : (ids) => codec.decode(ids), { maxQueuedRequests: settings.maxQueuedRequests, requestTimeoutMs: settings.requestTimeoutMs });
    const images = await imageInputsFor(worker.info, options.model, { imageRoot: options.imageRoot, processor: options.processor });
    const context: ServeContext = {
      worker, service, metrics, info: worker.info, codec, images, modelName: options.servedModelName ?? basename(resolve(options.model)),
      stopTokenIds: [...new Set([...worker.info.eosTokenIds, ...(codec?.eosTokenIds ?? [])])],
      created: Math.floor(Date.now() / 1000), maxBodyBytes: settings.maxBodyBytes, log,
    };
    const http = createServer((request, response) => void handle(context, keys, request, response));
    await new Promise<void>((resolvePromise, reject) => {
      http.once('error', reject);
      http.listen(settings.port, settings.host, () => {
        http.off('error', reject);
        resolvePromise();
      });
    });
    const address = http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | null = null;
    return {
      url: `http://${host}:${address.port}`, worker, metrics, http, modelName: context.modelName,
      close() {
        closing ??= new Promise<void>((resolveClose, reject) => {
          http.close((error) => (error ? reject(error) : resolveClose()));
          http.closeIdleConnections();
        }).finally(() => worker.close());
        return closing;
      },
    };
  } catch (error) {
    await worker.close();
    throw error;
  }
}
