// Messages between the HTTP thread and the model worker (structured-clone plain objects).
import type { StepResult } from './engine.js';
import type { InputSpec } from './inputs.js';
import type { GenerationRequest } from './sequence.js';

/** Options the worker is started with (all plain data). */
export interface WorkerOptions {
  model: string;
  /** [name, folder] loaded before the worker reports ready. */
  adapters: [string, string][];
  adapterRoot: string | null;
  /** Adapters kept in memory at most (LRU of idle ones); null = no limit. */
  maxLoadedAdapters: number | null;
  batchWindowMs: number;
  maxBatchRows: number;
  maxNumSeqs?: number;
  maxPrefillTokens?: number;
  kvCacheTokens?: number;
  /** Intra-op threads of the model's work (default: the runtime's default, NODE_PEFT_THREADS or one per core). */
  threads?: number;
}

export interface ModelInfo {
  architecture: string;
  /** config.json's model_type-free name the API answers to: the model folder's base name. */
  name: string;
  path: string;
  causal: boolean;
  /** The context length (max_position_embeddings / n_positions); 0 for models that do not generate. */
  maxPositions: number;
  vocabSize: number;
  eosTokenIds: number[];
  /** What /v1/predict's inputs may hold. */
  inputSpecs: InputSpec[];
  /** config.json's id2label (classifiers), for /v1/predict's label names. */
  id2label: Record<string, string> | null;
  /** config.json's image_size (image models), the processor's size when the model folder has none. */
  imageSize: number | null;
}

/** The engine's view after a step, for metrics. */
export interface EngineStats {
  running: number;
  waiting: number;
  decodeRows: number;
  prefillRows: number;
  kvUsage: number;
  loadedAdapters: number;
}

export type AdapterEvent = { kind: 'load'; name: string; seconds: number; ok: boolean } | { kind: 'evict'; name: string };

export type ToWorker =
  | { op: 'call'; callId: number; method: string; args: unknown[] }
  | { op: 'generate'; request: GenerationRequest }
  | { op: 'cancel'; id: string };

export interface SerializedError {
  status: number;
  message: string;
  param?: string | null;
  code?: string | null;
}

export type FromWorker =
  | { op: 'ready'; info: ModelInfo }
  | { op: 'startFailed'; error: SerializedError }
  | { op: 'reply'; callId: number; ok: true; value: unknown }
  | { op: 'reply'; callId: number; ok: false; error: SerializedError }
  | { op: 'step'; tokens: StepResult['tokens']; finished: StepResult['finished']; stats: EngineStats }
  /** A generate request that could not start (adapter missing, too long, ...). */
  | { op: 'rejected'; id: string; error: SerializedError }
  | { op: 'adapter'; event: AdapterEvent; resident: number }
  | { op: 'log'; line: string };
