// node-peft serve: load a model and adapters once, answer HTTP JSON requests until SIGINT/SIGTERM.
import { serve, type RunningServer } from '../serve/index.js';
import { integerOption, optionalString, parseCommandArgs, requireString, stringList } from './args.js';
import type { Command, CommandIO } from './command.js';
import { parseAdapterSpecs, requireFolder } from './load-model.js';

const USAGE = `usage: node-peft serve --model DIR [--adapter [NAME=]DIR ...] [--adapter-root DIR] [--max-loaded-adapters N]
                      [--image-root DIR] [--processor DIR]
                      [--port 8080] [--host 127.0.0.1] [--api-key KEY] [--served-model-name NAME]
                      [--max-num-seqs 32] [--max-prefill-tokens 256] [--kv-cache-tokens N]
                      [--max-queued-requests 256] [--request-timeout-s 600]
                      [--batch-window-ms 2] [--max-batch-rows 64] [--max-body-mb 16]
  Loads the model once (in a worker thread) and serves an OpenAI-compatible API (see docs/serving.md):
    POST /v1/completions, POST /v1/chat/completions ("model": the base model's name or an adapter's; "stream": true
    for server-sent events), GET /v1/models, POST /v1/load_lora_adapter, POST /v1/unload_lora_adapter,
    POST /v1/predict (classifiers), POST /v1/generate (token ids), GET /health, GET /metrics (Prometheus)
  --adapter              an adapter folder loaded at start; NAME=DIR names it (default: 'default'); repeatable
  --adapter-root         adapters named in requests are loaded on first use from DIR/NAME; API loads stay inside DIR
  --max-loaded-adapters  adapters kept in memory; the least recently used idle one is evicted (default: no limit)
  --api-key              require "Authorization: Bearer KEY" on every route but /health and /metrics
                         (default: the NODE_PEFT_API_KEY environment variable)
  --served-model-name    the base model's name in "model" (default: the model folder's name)
  --max-num-seqs         sequences decoded together in one batch (1 = one request at a time)
  --max-prefill-tokens   prompt tokens prefilled per step (a long prompt is split over steps)
  --max-queued-requests  generation requests in progress at most; more get 429 with Retry-After
  --request-timeout-s    a generation running longer is stopped (0 = no limit)
  --port                 default 8080 (0 = any free port)
  --host                 default 127.0.0.1; anything else exposes the server (warns without an API key)
  --batch-window-ms      how long a predict request waits to share a forward pass (0 = no batching)
  --image-root           /v1/predict {"images": [...]} may name files inside DIR (base64 images work without it)
  --processor            the image processor's folder (default: the model folder's preprocessor_config.json)
  Stops gracefully on SIGINT or SIGTERM.`;

export interface ServeArgs {
  model: string;
  adapters: [string, string][];
  port: number;
  host: string;
  batchWindowMs: number;
  maxBatchRows: number;
  maxBodyBytes: number;
  adapterRoot?: string;
  imageRoot?: string;
  processor?: string;
  maxLoadedAdapters?: number;
  apiKey?: string;
  servedModelName?: string;
  maxNumSeqs: number;
  maxPrefillTokens: number;
  kvCacheTokens?: number;
  maxQueuedRequests: number;
  requestTimeoutMs: number;
}

export function parseServeArgs(argv: string[]): ServeArgs {
  const { values } = parseCommandArgs('serve', argv, {
    model: { type: 'string' },
    adapter: { type: 'string', multiple: true },
    port: { type: 'string' },
    host: { type: 'string' },
    'batch-window-ms': { type: 'string' },
    'max-batch-rows': { type: 'string' },
    'max-body-mb': { type: 'string' },
    'adapter-root': { type: 'string' },
    'image-root': { type: 'string' },
    processor: { type: 'string' },
    'max-loaded-adapters': { type: 'string' },
    'api-key': { type: 'string' },
    'served-model-name': { type: 'string' },
    'max-num-seqs': { type: 'string' },
    'max-prefill-tokens': { type: 'string' },
    'kv-cache-tokens': { type: 'string' },
    'max-queued-requests': { type: 'string' },
    'request-timeout-s': { type: 'string' },
  });
  const model = requireString('serve', values, 'model');
  requireFolder('serve', '--model', model, 'config.json');
  const adapterRoot = optionalString(values, 'adapter-root');
  if (adapterRoot !== undefined) requireFolder('serve', '--adapter-root', adapterRoot);
  const imageRoot = optionalString(values, 'image-root');
  if (imageRoot !== undefined) requireFolder('serve', '--image-root', imageRoot);
  const optionalInteger = (name: string): number | undefined => (values[name] === undefined ? undefined : integerOption('serve', values, name, 1, 1));
  return {
    model,
    adapters: parseAdapterSpecs('serve', stringList(values, 'adapter')),
    port: integerOption('serve', values, 'port', 8080, 0),
    host: optionalString(values, 'host') ?? '127.0.0.1',
    batchWindowMs: integerOption('serve', values, 'batch-window-ms', 2, 0),
    maxBatchRows: integerOption('serve', values, 'max-batch-rows', 64, 1),
    maxBodyBytes: integerOption('serve', values, 'max-body-mb', 16, 1) * 1024 * 1024,
    adapterRoot,
    imageRoot,
    processor: optionalString(values, 'processor'),
    maxLoadedAdapters: optionalInteger('max-loaded-adapters'),
    apiKey: optionalString(values, 'api-key'),
    servedModelName: optionalString(values, 'served-model-name'),
    maxNumSeqs: integerOption('serve', values, 'max-num-seqs', 32, 1),
    maxPrefillTokens: integerOption('serve', values, 'max-prefill-tokens', 256, 1),
    kvCacheTokens: optionalInteger('kv-cache-tokens'),
    maxQueuedRequests: integerOption('serve', values, 'max-queued-requests', 256, 1),
    requestTimeoutMs: integerOption('serve', values, 'request-timeout-s', 600, 0) * 1000,
  };
}

/** Resolves with the signal's name once SIGINT or SIGTERM arrives. */
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Loads and starts the server, prints its URL on stdout (and what it serves on stderr). */
export async function runServe(args: ServeArgs, io: CommandIO): Promise<RunningServer> {
  const apiKey = args.apiKey ?? process.env.NODE_PEFT_API_KEY;
  const server = await serve({
    model: args.model,
    adapters: args.adapters,
    host: args.host,
    port: args.port,
    batchWindowMs: args.batchWindowMs,
    maxBatchRows: args.maxBatchRows,
    maxBodyBytes: args.maxBodyBytes,
    adapterRoot: args.adapterRoot,
    imageRoot: args.imageRoot,
    processor: args.processor,
    maxLoadedAdapters: args.maxLoadedAdapters,
    apiKeys: apiKey ? [apiKey] : [],
    servedModelName: args.servedModelName,
    maxNumSeqs: args.maxNumSeqs,
    maxPrefillTokens: args.maxPrefillTokens,
    kvCacheTokens: args.kvCacheTokens,
    maxQueuedRequests: args.maxQueuedRequests,
    requestTimeoutMs: args.requestTimeoutMs,
    log: (line) => io.err(line),
  });
  const names = args.adapters.map(([name]) => name);
  io.err(`node-peft serve: ${server.worker.info.architecture} from ${args.model} as '${server.modelName}'; adapters: ${names.join(', ') || 'none'}${apiKey ? '; API key required' : ''}`);
  io.out(server.url);
  return server;
}

export const serveCommand: Command = {
  name: 'serve',
  usage: USAGE,
  async run(argv, io) {
    const stop = nextStopSignal();
    const server = await runServe(parseServeArgs(argv), io);
    const signal = await stop;
    io.err(`node-peft serve: ${signal}: stopping (requests in flight are answered first)`);
    await server.close();
    io.err('node-peft serve: stopped');
    return 0;
  },
};
