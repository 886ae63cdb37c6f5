// The HTTP API of node-peft serve (DESIGN.md): each route checks its request and answers a value (JSON or
// text), or writes the response itself (server-sent events) and answers null.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestedNumbers } from '../tensor/tensor.js';
import { describeJson, readJsonBody, requireObject } from './body.js';
import { parseGenerateRequest } from './generate.js';
import type { GenerationService } from './generation-service.js';
import { badRequest, HttpError } from './http-error.js';
import { predictImagesReply, type ImageInputs } from './image-inputs.js';
import { parseInputs, type ParsedInputs } from './inputs.js';
import { OPENAI_ROUTES } from './openai-routes.js';
import type { ServerMetrics } from './prom-metrics.js';
import type { ModelInfo } from './protocol.js';
import { checkAdapterName } from './registry.js';
import type { TextCodec } from './text-codec.js';
import type { ModelWorker } from './worker-client.js';

export interface ServeContext {
  worker: ModelWorker;
  service: GenerationService;
  metrics: ServerMetrics;
  info: ModelInfo;
  codec: TextCodec | null;
  /** What `model` names the base model as (the model folder's name unless --served-model-name). */
  modelName: string;
  /** Tokens that end a generation: the tokenizer's eos and config.json's eos_token_id. */
  stopTokenIds: number[];
  /** Unix seconds the server started (the models' `created`). */
  created: number;
  /** Decodes the `images` of /v1/predict; null when the model takes no images. */
  images: ImageInputs | null;
  maxBodyBytes: number;
  log: (line: string) => void;
}

export interface Reply {
  status: number;
  /** A string goes out as text/plain, anything else as JSON. */
  body: unknown;
}

export interface Route {
  method: string;
  /** The route's name in /metrics, e.g. 'DELETE /v1/adapters/:name'. */
  name: string;
  match(path: string): string[] | null;
  /** Errors in OpenAI's shape ({"error": {message, type, param, code}}) rather than {"error": message}. */
  openai?: boolean;
  /** Answered without an API key. */
  open?: boolean;
  handle(context: ServeContext, request: IncomingMessage, params: string[], response: ServerResponse): Promise<Reply | null>;
}

const exact = (path: string) => (p: string): string[] | null => (p === path ? [] : null);
const ok = (body: unknown): Reply => ({ status: 200, body });

function named(prefix: string) {
  return (p: string): string[] | null => {
    if (!p.startsWith(prefix) || p.length === prefix.length) return null;
    try {
      return [decodeURIComponent(p.slice(prefix.length))];
    } catch {
      throw badRequest(`${p.slice(prefix.length)} is not valid URL encoding`);
    }
  };
}

function checkFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw badRequest(`unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${allowed.join(', ')}`);
}

async function predict(context: ServeContext, request: IncomingMessage): Promise<Reply> {
  const body = requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body');
  checkFields(body, ['adapter', 'inputs', 'images', 'top_k']);
  const adapter = body.adapter === undefined || body.adapter === null ? null : checkAdapterName(body.adapter);
  if (body.images !== undefined) {
    const submit = (inputs: ParsedInputs) => context.worker.call('predict', adapter, inputs) as Promise<NestedNumbers[]>;
    return ok(await predictImagesReply(context.images, body, submit, context.info.id2label ?? undefined));
  }
  if (body.inputs === undefined) throw badRequest('inputs is required: {"input_ids": [[...]], ...} or {"pixel_values": [...]}');
  const inputs = parseInputs(body.inputs, context.info.inputSpecs);
  return ok({ logits: await context.worker.call('predict', adapter, inputs) });
}

async function generateIds(context: ServeContext, request: IncomingMessage, response: ServerResponse): Promise<Reply> {
  const parsed = parseGenerateRequest(await readJsonBody(request, context.maxBodyBytes), context.info);
  if (parsed.max_new_tokens === 0) return ok({ tokens: [] });
  const aborted = new AbortController();
  response.on('close', () => {
    if (!response.writableFinished) aborted.abort();
  });
  const [result] = await context.service.run({
    adapter: parsed.adapter, stop: [], stopTokenIds: parsed.stop, signal: aborted.signal,
    choices: [{ promptIds: parsed.input_ids, maxTokens: parsed.max_new_tokens, temperature: parsed.temperature, topP: parsed.top_p, topK: parsed.top_k, seed: parsed.seed }],
  });
  return ok({ tokens: result.tokenIds });
}

async function addAdapter(context: ServeContext, request: IncomingMessage): Promise<Reply> {
  const body = requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body');
  checkFields(body, ['name', 'path', 'replace']);
  if (body.replace !== undefined && typeof body.replace !== 'boolean') throw badRequest(`replace: expected true or false, got ${describeJson(body.replace)}`);
  const name = checkAdapterName(body.name);
  if (typeof body.path !== 'string' || body.path === '') throw badRequest(`path: expected an adapter folder, got ${JSON.stringify(body.path)}`);
  try {
    const adapter = await context.worker.call('register', name, body.path, body.replace === true);
    context.log(`loaded adapter ${name} from ${body.path}`);
    return { status: 201, body: { adapter } };
  } catch (error) {
    if (error instanceof HttpError && error.code === 'adapter_exists') throw new HttpError(409, `${error.message}; delete it first or pass "replace": true`);
    throw error;
  }
}

export const ROUTES: Route[] = [
  {
    method: 'GET', name: 'GET /health', match: exact('/health'), open: true,
    handle: async ({ info, worker }) => ok({ status: 'ok', model: info.architecture, adapters: worker.residentAdapters, generating: worker.activeGenerations }),
  },
  {
    method: 'GET', name: 'GET /metrics', match: exact('/metrics'), open: true,
    handle: async ({ metrics }) => ({ status: 200, body: await metrics.text() }),
  },
  { method: 'GET', name: 'GET /v1/models', match: exact('/v1/models'), openai: true, handle: (c) => OPENAI_ROUTES.models(c) },
  { method: 'GET', name: 'GET /v1/models/:id', match: named('/v1/models/'), openai: true, handle: (c, _r, [id]) => OPENAI_ROUTES.model(c, id) },
  { method: 'POST', name: 'POST /v1/completions', match: exact('/v1/completions'), openai: true, handle: (c, r, _p, res) => OPENAI_ROUTES.completions(c, r, res) },
  { method: 'POST', name: 'POST /v1/chat/completions', match: exact('/v1/chat/completions'), openai: true, handle: (c, r, _p, res) => OPENAI_ROUTES.chat(c, r, res) },
  { method: 'POST', name: 'POST /v1/load_lora_adapter', match: exact('/v1/load_lora_adapter'), openai: true, handle: (c, r) => OPENAI_ROUTES.load(c, r) },
  { method: 'POST', name: 'POST /v1/unload_lora_adapter', match: exact('/v1/unload_lora_adapter'), openai: true, handle: (c, r) => OPENAI_ROUTES.unload(c, r) },
  { method: 'GET', name: 'GET /v1/adapters', match: exact('/v1/adapters'), handle: async ({ worker }) => ok({ adapters: await worker.call('adapters') }) },
  { method: 'POST', name: 'POST /v1/adapters', match: exact('/v1/adapters'), handle: addAdapter },
  {
    method: 'DELETE', name: 'DELETE /v1/adapters/:name', match: named('/v1/adapters/'),
    handle: async (context, _request, [name]) => {
      await context.worker.call('unregister', checkAdapterName(name));
      context.log(`deleted adapter ${name}`);
      return ok({ deleted: name });
    },
  },
  { method: 'POST', name: 'POST /v1/predict', match: exact('/v1/predict'), handle: predict },
  { method: 'POST', name: 'POST /v1/generate', match: exact('/v1/generate'), handle: (c, r, _p, res) => generateIds(c, r, res) },
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
