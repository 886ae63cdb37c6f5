// node-peft serve: one base model in a worker thread, many LoRA adapters decoded together (continuous
// batching), an OpenAI-compatible HTTP API.
export { serve, DEFAULTS, type RunningServer, type ServeOptions } from './server.js';
export { AdapterRegistry, ADAPTER_NAME, checkAdapterName, type AdapterInfo, type LoadOptions, type RegistryOptions } from './registry.js';
export { AdapterPool, loadErrorMessage, type AdapterPoolOptions } from './adapter-pool.js';
export { GenerationEngine, type EngineOptions, type KVShape, type StepResult, type BatchForward } from './engine.js';
export { type GenerationRequest, type FinishReason } from './sequence.js';
export { ModelWorker } from './worker-client.js';
export { PredictBatcher, type BatcherOptions, type PredictJob } from './batcher.js';
export { Metrics, percentile, type BatchingCounters, type LatencySummary } from './metrics.js';
export { ServerMetrics } from './prom-metrics.js';
export { ApiKeys, exposureWarning } from './auth.js';
export { HttpError } from './http-error.js';
export { inputSpecsFor, parseInputs, type InputSpec, type ParsedInputs } from './inputs.js';
export { parseGenerateRequest, CAUSAL_LMS, isCausalLM, type GenerateRequest } from './generate.js';
export { parseOpenAIRequest, type OpenAIRequest, type ChatMessage } from './openai-request.js';
export { TextStream } from './text-stream.js';
export { loadTextCodec, type TextCodec } from './text-codec.js';
