// node-peft serve: load a model and adapters once, answer HTTP JSON requests until SIGINT/SIGTERM.
import { serve, type RunningServer } from '../serve/index.js';
import { integerOption, optionalString, parseCommandArgs, requireString, stringList } from './args.js';
import type { Command, CommandIO } from './command.js';
import { parseAdapterSpecs, requireFolder } from './load-model.js';

const USAGE = `usage: node-peft serve --model DIR [--adapter [NAME=]DIR ...] [--port N] [--host 127.0.0.1]
                      [--batch-window-ms 2] [--max-batch-rows 64] [--max-body-mb 16] [--adapter-root DIR]
  Loads the model once and serves it over HTTP (JSON; see docs/serving.md):
    GET /health, GET /metrics, GET|POST /v1/adapters, DELETE /v1/adapters/NAME,
    POST /v1/predict {"adapter": NAME|null, "inputs": {...}}, POST /v1/generate {"adapter", "input_ids", ...}
  --adapter          an adapter folder loaded at start; NAME=DIR names it (default: 'default'); repeatable
  --port             default 8080 (0 = any free port)
  --host             default 127.0.0.1; anything else exposes the server (and POST /v1/adapters) to the network
  --batch-window-ms  how long a predict request waits to share a forward pass (0 = no batching)
  --adapter-root     POST /v1/adapters may only load folders inside DIR
  --image-root       /v1/predict {"images": [...]} may name files inside DIR (base64 images work without it)
  --processor        the image processor's folder (default: the model folder's preprocessor_config.json)
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
  });
  const model = requireString('serve', values, 'model');
  requireFolder('serve', '--model', model, 'config.json');
  const adapterRoot = optionalString(values, 'adapter-root');
  if (adapterRoot !== undefined) requireFolder('serve', '--adapter-root', adapterRoot);
  const imageRoot = optionalString(values, 'image-root');
  if (imageRoot !== undefined) requireFolder('serve', '--image-root', imageRoot);
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
    log: (line) => io.err(line),
    warn: (message) => io.err(`warning: ${message}`),
  });
  const names = server.registry.list().map((a) => a.name);
  io.err(`node-peft serve: ${server.registry.model.architecture} from ${args.model}; adapters: ${names.join(', ') || 'none'}`);
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
