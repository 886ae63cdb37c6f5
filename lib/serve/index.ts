// node-peft serve: one base model loaded once, adapters loaded, switched and mixed per request over HTTP.
export { serve, startServer, DEFAULTS, type RunningServer, type ServeOptions, type ServerOptions } from './server.js';
export { AdapterRegistry, ADAPTER_NAME, checkAdapterName, type AdapterInfo, type LoadOptions, type RegistryOptions } from './registry.js';
export { PredictBatcher, type BatcherOptions, type PredictJob } from './batcher.js';
export { Metrics, percentile, type BatchingCounters, type LatencySummary } from './metrics.js';
export { HttpError } from './http-error.js';
export { inputSpecsFor, parseInputs, type InputSpec, type ParsedInputs } from './inputs.js';
export { parseGenerateRequest, runGenerate, CAUSAL_LMS, type GenerateRequest } from './generate.js';
