// The HTTP API of node-peft serve (DESIGN.md): each route checks its request and answers a JSON value.
import type { IncomingMessage } from 'node:http';
import { PeftError, SafetensorsError, StateDictError } from '../errors.js';
import type { PredictBatcher } from './batcher.js';
import { describeJson, readJsonBody, requireObject } from './body.js';
import { parseGenerateRequest, runGenerate } from './generate.js';
import { badRequest, HttpError } from './http-error.js';
import { predictImagesReply, type ImageInputs } from './image-inputs.js';
import { parseInputs, type InputSpec } from './inputs.js';
import type { Metrics } from './metrics.js';
import { checkAdapterName, type AdapterRegistry } from './registry.js';

export interface ServeContext {
  registry: AdapterRegistry;
  batcher: PredictBatcher;
  metrics: Metrics;
  inputSpecs: InputSpec[];
  /** Decodes the `images` of /v1/predict; null when the model takes no images. */
  images?: ImageInputs | null;
  maxBodyBytes: number;
  log: (line: string) => void;
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface Route {
  method: string;
  /** The route's name in /metrics, e.g. 'DELETE /v1/adapters/:name'. */
  name: string;
  match(path: string): string[] | null;
  handle(context: ServeContext, request: IncomingMessage, params: string[]): Promise<Reply>;
}

const exact = (path: string) => (p: string): string[] | null => (p === path ? [] : null);
const ok = (body: unknown): Reply => ({ status: 200, body });

function checkFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw badRequest(`unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${allowed.join(', ')}`);
}

function adapterField(value: unknown): string | null {
  return value === undefined || value === null ? null : checkAdapterName(value);
}

/** Waits for a load of that adapter in progress, then 404s unless it is loaded. */
async function requireLoaded(registry: AdapterRegistry, adapter: string | null): Promise<void> {
  if (adapter === null) return;
  await registry.settled(adapter);
  registry.requireAdapter(adapter);
}

async function predict(context: ServeContext, request: IncomingMessage): Promise<Reply> {
  const body = requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body');
  checkFields(body, ['adapter', 'inputs', 'images', 'top_k']);
  const adapter = adapterField(body.adapter);
  if (body.images !== undefined) {
    await requireLoaded(context.registry, adapter);
    const id2label = (context.registry.model.config as { id2label?: Record<string, string> }).id2label;
    return ok(await predictImagesReply(context.images, body, (inputs) => context.batcher.submit({ adapter, inputs }), id2label));
  }
  if (body.inputs === undefined) throw badRequest('inputs is required: {"input_ids": [[...]], ...} or {"pixel_values": [...]}');
  const inputs = parseInputs(body.inputs, context.inputSpecs);
  await requireLoaded(context.registry, adapter);
  return ok({ logits: await context.batcher.submit({ adapter, inputs }) });
}

async function generateRoute(context: ServeContext, request: IncomingMessage): Promise<Reply> {
  const parsed = parseGenerateRequest(await readJsonBody(request, context.maxBodyBytes), context.registry);
  await requireLoaded(context.registry, parsed.adapter);
  return ok({ tokens: await context.registry.schedule(() => runGenerate(context.registry, parsed)) });
}

async function addAdapter(context: ServeContext, request: IncomingMessage): Promise<Reply> {
  const body = requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body');
  checkFields(body, ['name', 'path', 'replace']);
  if (body.replace !== undefined && typeof body.replace !== 'boolean') throw badRequest(`replace: expected true or false, got ${describeJson(body.replace)}`);
  try {
    const adapter = await context.registry.load(body.name, body.path, { replace: body.replace === true });
    context.log(`loaded adapter ${adapter.name} from ${adapter.path}`);
    return { status: 201, body: { adapter } };
  } catch (error) {
    // an adapter that does not fit this model (no matching modules, wrong shapes, a broken file) is the caller's
    if (error instanceof PeftError || error instanceof StateDictError || error instanceof SafetensorsError) {
      throw badRequest(`cannot load adapter ${JSON.stringify(body.name)} from ${String(body.path)}: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
}

export const ROUTES: Route[] = [
  {
    method: 'GET', name: 'GET /health', match: exact('/health'),
    handle: async ({ registry }) => ok({ status: 'ok', model: registry.model.architecture, adapters: registry.list().length }),
  },
  {
    method: 'GET', name: 'GET /metrics', match: exact('/metrics'),
    handle: async ({ metrics, registry, batcher }) =>
      ok(metrics.snapshot({ adapters: registry.list().map((a) => a.name), batchWindowMs: batcher.options.windowMs })),
  },
  { method: 'GET', name: 'GET /v1/adapters', match: exact('/v1/adapters'), handle: async ({ registry }) => ok({ adapters: registry.list() }) },
  { method: 'POST', name: 'POST /v1/adapters', match: exact('/v1/adapters'), handle: addAdapter },
  {
    method: 'DELETE', name: 'DELETE /v1/adapters/:name',
    match: (p) => {
      const m = /^\/v1\/adapters\/([^/]+)$/.exec(p);
      if (!m) return null;
      try {
        return [decodeURIComponent(m[1])];
      } catch {
        throw badRequest(`adapter name: ${m[1]} is not valid URL encoding`);
      }
    },
    handle: async (context, _request, [name]) => {
      await context.registry.settled(name);
      await context.registry.delete(name);
      context.log(`deleted adapter ${name}`);
      return ok({ deleted: name });
    },
  },
  { method: 'POST', name: 'POST /v1/predict', match: exact('/v1/predict'), handle: predict },
  { method: 'POST', name: 'POST /v1/generate', match: exact('/v1/generate'), handle: generateRoute },
];

/** The route for this method and path; 404 for an unknown path, 405 for a known path and another method. */
export function findRoute(method: string, path: string): { route: Route; params: string[] } {
  let pathKnown = false;
  for (const route of ROUTES) {
    const params = route.match(path);
    if (!params) continue;
    if (route.method === method) return { route, params };
    pathKnown = true;
  }
  if (pathKnown) throw new HttpError(405, `${method} is not allowed on ${path}`);
  throw new HttpError(404, `no such endpoint: ${method} ${path}`);
}
