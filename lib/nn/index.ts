// The `nn` namespace: Module, Parameter, layers, containers and init.
export { Module, type LoadResult } from './module.js';
export { Parameter, emptyParameter, type FactoryOptions } from './parameter.js';
export { WeightBiasLayer } from './weight-bias-layer.js';
export { Linear, Identity, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { Conv1d, Conv2d, Conv3d, type Conv1dOptions, type Conv2dOptions, type Conv3dOptions } from './conv.js';
export { LayerNorm, RMSNorm, type LayerNormOptions, type RMSNormOptions } from './normalization.js';
export { Dropout } from './dropout.js';
export { ReLU, GELU, SiLU, Tanh, Sigmoid, type GELUApproximation } from './activation.js';
export { Sequential, ModuleList, ModuleDict, ParameterDict } from './containers.js';
export * as init from './init.js';
