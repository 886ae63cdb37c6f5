// The model worker thread: owns the model, its adapters (AdapterPool over AdapterRegistry), the generation
// engine and the predict batcher. It runs engine steps back to back while there is work, yielding to the
// message queue between steps so that new requests and cancellations land at step boundaries.
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { setNumThreads } from '../tensor/runtime.js';
import { liveTensors } from '../tensor/tensor.js';
import { AdapterPool } from './adapter-pool.js';
import { PredictBatcher } from './batcher.js';
import { GenerationEngine, type KVShape } from './engine.js';
import { isCausalLM } from './generate.js';
import { HttpError } from './http-error.js';
import { inputSpecsFor, type ParsedInputs } from './inputs.js';
import { Metrics } from './metrics.js';
import type { EngineStats, FromWorker, ModelInfo, SerializedError, ToWorker, WorkerOptions } from './protocol.js';
import { AdapterRegistry } from './registry.js';
import type { GenerationRequest } from './sequence.js';

const port = parentPort;
if (!port) throw new Error('lib/serve/worker-main.ts runs as a worker thread');
const options = workerData as WorkerOptions;
const post = (message: FromWorker): void => port.postMessage(message);
if (options.threads !== undefined) setNumThreads(options.threads);

function serialize(error: unknown): SerializedError {
  if (error instanceof HttpError) return { status: error.status, message: error.message, param: error.param, code: error.code };
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  post({ op: 'log', line: `error: ${error instanceof Error && error.stack ? error.stack : message}` });
  return { status: 500, message };
}

interface ModelConfig {
  num_hidden_layers?: number;
  n_layer?: number;
  num_attention_heads?: number;
  n_head?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  hidden_size?: number;
  n_embd?: number;
  max_position_embeddings?: number;
  n_positions?: number;
  vocab_size?: number;
  eos_token_id?: number | number[] | null;
}

function kvShape(config: ModelConfig, registry: AdapterRegistry): KVShape {
  const heads = config.num_attention_heads ?? config.n_head ?? 1;
  const hidden = config.hidden_size ?? config.n_embd ?? heads;
  return {
    layers: config.num_hidden_layers ?? config.n_layer ?? 1,
    kvHeads: config.num_key_value_heads ?? heads,
    headDim: config.head_dim ?? hidden / heads,
    maxPositions: config.max_position_embeddings ?? config.n_positions ?? 2048,
    dtype: registry.floatDtype,
  };
}

const registry = await AdapterRegistry.open(options.model, { warn: (m) => post({ op: 'log', line: `warning: ${m}` }) }).catch((error: unknown) => {
  post({ op: 'startFailed', error: serialize(error) });
  throw error;
});
const config = registry.model.config as ModelConfig;
const causal = isCausalLM(registry.model.architecture);
const shape = kvShape(config, registry);
const pool = new AdapterPool(registry, {
  adapterRoot: options.adapterRoot,
  maxLoaded: options.maxLoadedAdapters,
  onEvent: (event) => post({ op: 'adapter', event, resident: pool.loadedCount }),
});
const engine = causal
  ? new GenerationEngine(shape, (inputs, rows) => registry.forward(inputs, rows), {
      maxNumSeqs: options.maxNumSeqs, maxPrefillTokens: options.maxPrefillTokens, kvCacheTokens: options.kvCacheTokens,
    })
  : null;
const batchMetrics = new Metrics();
const batcher = new PredictBatcher(registry, batchMetrics, { windowMs: options.batchWindowMs, maxBatchRows: options.maxBatchRows });
/** Requests waiting for their adapter to load, then cancelled: they must not start. */
const cancelledEarly = new Set<string>();
const adapterOf = new Map<string, string | null>();

let looping = false;
function runLoop(): void {
  if (looping || !engine) return;
  looping = true;
  const tick = (): void => {
    if (!engine.hasWork()) {
      looping = false;
      return;
    }
    const result = engine.step();
    for (const f of result.finished) {
      pool.release(adapterOf.get(f.id) ?? null);
      adapterOf.delete(f.id);
    }
    post({
      op: 'step', tokens: result.tokens, finished: result.finished,
      stats: {
        running: engine.running, waiting: engine.waiting, decodeRows: result.decodeRows, prefillRows: result.prefillRows,
        kvUsage: 1 - engine.kv.freeBlocks / engine.kv.totalBlocks, loadedAdapters: pool.loadedCount,
      },
    });
    setImmediate(tick); // lets messages (new requests, cancels) in between steps
  };
  setImmediate(tick);
}

async function startGeneration(request: GenerationRequest): Promise<void> {
  if (!engine) throw new HttpError(400, `generation needs a causal language model; this server runs ${registry.model.architecture}`);
  await pool.acquire(request.adapter);
  if (cancelledEarly.delete(request.id)) {
    pool.release(request.adapter);
    post({ op: 'step', tokens: [], finished: [{ id: request.id, reason: 'abort', promptTokens: request.promptIds.length, completionTokens: 0 }], stats: stats() });
    return;
  }
  try {
    engine.submit(request);
  } catch (error) {
    pool.release(request.adapter);
    throw error instanceof RangeError ? new HttpError(400, error.message, 'max_tokens') : error;
  }
  adapterOf.set(request.id, request.adapter);
  runLoop();
}

function stats(): EngineStats {
  return {
    running: engine?.running ?? 0, waiting: engine?.waiting ?? 0, decodeRows: 0, prefillRows: 0,
    kvUsage: engine ? 1 - engine.kv.freeBlocks / engine.kv.totalBlocks : 0, loadedAdapters: pool.loadedCount,
  };
}

async function predict(adapter: string | null, inputs: ParsedInputs): Promise<unknown> {
  await pool.acquire(adapter);
  try {
    return await batcher.submit({ adapter, inputs });
  } finally {
    pool.release(adapter);
  }
}

const methods: Record<string, (...args: never[]) => unknown> = {
  adapters: async () => (await pool.listAll()).map((a) => ({ ...(a.info ?? {}), name: a.name, path: a.path, loaded: a.loaded })),
  register: async (name: string, path: string, replace: boolean) => {
    await pool.register(name, path, replace);
    try {
      await pool.acquire(name); // engine loading doubles as validation (as vLLM)
    } catch (error) {
      await pool.unregister(name).catch(() => undefined);
      throw error;
    }
    pool.release(name);
    return pool.known().find((a) => a.name === name)?.info ?? null;
  },
  unregister: (name: string) => pool.unregister(name),
  predict,
  stats,
  evictions: () => pool.evictions,
  /** The predict batcher's counters. */
  batching: () => batchMetrics.batching,
  liveTensors: () => liveTensors(),
};

port.on('message', (message: ToWorker) => {
  if (message.op === 'generate') {
    startGeneration(message.request).catch((error: unknown) => post({ op: 'rejected', id: message.request.id, error: serialize(error) }));
  } else if (message.op === 'cancel') {
    if (adapterOf.has(message.id)) engine?.cancel(message.id);
    else cancelledEarly.add(message.id);
    runLoop();
  } else {
    const method = methods[message.method];
    Promise.resolve()
      .then(() => {
        if (!method) throw new HttpError(500, `model worker: no method ${message.method}`);
        return (method as (...args: unknown[]) => unknown)(...message.args);
      })
      .then(
        (value) => post({ op: 'reply', callId: message.callId, ok: true, value }),
        (error: unknown) => post({ op: 'reply', callId: message.callId, ok: false, error: serialize(error) }),
      );
  }
});

try {
  for (const [name, path] of options.adapters) {
    await pool.register(name, path);
    await pool.acquire(name);
    pool.release(name);
  }
} catch (error) {
  post({ op: 'startFailed', error: serialize(error) });
  throw error;
}
const info: ModelInfo = {
  architecture: registry.model.architecture, name: basename(options.model), path: options.model, causal,
  maxPositions: causal ? shape.maxPositions : 0, vocabSize: config.vocab_size ?? 0,
  eosTokenIds: config.eos_token_id === undefined || config.eos_token_id === null ? [] : [config.eos_token_id].flat(),
  inputSpecs: inputSpecsFor(registry.model),
  id2label: (config as { id2label?: Record<string, string> }).id2label ?? null,
  imageSize: (config as { image_size?: number }).image_size ?? null,
};
post({ op: 'ready', info });
