// The HTTP server of node-peft serve: routes requests, answers JSON (errors as {"error": message}), records
// metrics, and closes gracefully (stops accepting, lets in-flight requests finish).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PredictBatcher } from './batcher.js';
import { HttpError } from './http-error.js';
import { imageInputsFor, type ImageInputs } from './image-inputs.js';
import { inputSpecsFor } from './inputs.js';
import { Metrics } from './metrics.js';
import { AdapterRegistry, type RegistryOptions } from './registry.js';
import { findRoute, type ServeContext } from './routes.js';

export interface ServerOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: an ephemeral port (see RunningServer.url). */
  port?: number;
  /** How long a predict request waits for others to share its forward (default 2 ms; 0 = no batching). */
  batchWindowMs?: number;
  /** Rows per forward at most (default 64). */
  maxBatchRows?: number;
  /** Request bodies larger than this are refused with 413 (default 16 MiB). */
  maxBodyBytes?: number;
  /** Where the server writes what it does (default: nothing). */
  log?: (line: string) => void;
  /** How /v1/predict decodes `images` (serve() makes it for image models). */
  images?: ImageInputs | null;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly registry: AdapterRegistry;
  readonly metrics: Metrics;
  readonly http: Server;
  /** Stops accepting connections and resolves once in-flight requests are answered. */
  close(): Promise<void>;
}

export const DEFAULTS = { host: '127.0.0.1', port: 0, batchWindowMs: 2, maxBatchRows: 64, maxBodyBytes: 16 * 1024 * 1024 };

function send(response: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(text);
}

function errorReply(error: unknown, log: (line: string) => void): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  log(`error: ${error instanceof Error && error.stack ? error.stack : message}`);
  return { status: 500, message };
}

async function handle(context: ServeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  let routeName = 'unmatched';
  response.on('finish', () => context.metrics.recordRequest(routeName, response.statusCode, performance.now() - started));
  try {
    const path = new URL(request.url ?? '/', 'http://server').pathname;
    const { route, params } = findRoute(request.method ?? 'GET', path);
    routeName = route.name;
    const reply = await route.handle(context, request, params);
    send(response, reply.status, reply.body);
  } catch (error) {
    const { status, message } = errorReply(error, context.log);
    // a refused upload may still be streaming in: answer and drop the connection
    send(response, status, { error: message }, status === 413);
  }
}

/** Serves the registry's model and adapters over HTTP until close(). */
export async function startServer(registry: AdapterRegistry, options: ServerOptions = {}): Promise<RunningServer> {
  const settings = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & ServerOptions;
  const metrics = new Metrics();
  const log = options.log ?? (() => undefined);
  const batcher = new PredictBatcher(registry, metrics, { windowMs: settings.batchWindowMs, maxBatchRows: settings.maxBatchRows });
  const context: ServeContext = { registry, batcher, metrics, inputSpecs: inputSpecsFor(registry.model), images: options.images ?? null, maxBodyBytes: settings.maxBodyBytes, log };
  const http = createServer((request, response) => void handle(context, request, response));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(settings.port, settings.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    registry,
    metrics,
    http,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        http.close((error) => (error ? reject(error) : resolve()));
        batcher.flushAll();
        http.closeIdleConnections();
      });
      return closing;
    },
  };
}

export interface ServeOptions extends ServerOptions, RegistryOptions {
  /** The Hugging Face model folder. */
  model: string;
  /** [name, adapter folder] pairs loaded before the server starts. */
  adapters?: readonly (readonly [string, string])[];
  /** Image requests: paths must lie inside this folder (without it only base64 images are taken). */
  imageRoot?: string;
  /** The image processor's folder (default: the model folder's preprocessor_config.json, else ViT's defaults). */
  processor?: string;
}

/** Loads the model and adapters, then serves them; close() also frees the model. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const registry = await AdapterRegistry.open(options.model, { warn: options.warn, adapterRoot: options.adapterRoot });
  try {
    for (const [name, path] of options.adapters ?? []) await registry.load(name, path);
    const images = await imageInputsFor(registry.model, options.model, options);
    const running = await startServer(registry, { ...options, images });
    return {
      ...running,
      async close() {
        await running.close();
        registry.dispose();
      },
    };
  } catch (error) {
    registry.dispose();
    throw error;
  }
}
