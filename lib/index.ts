// The public surface of node-peft (re-exports only).
export * as torch from './tensor/index.js';
export { Tensor } from './tensor/index.js';
export type { DType, Device } from './tensor/index.js';
export * from './errors.js';
export * as nn from './nn/index.js';
export * as safetensors from './serialization/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as train from './train/index.js';
export * from './peft/index.js';
export * from './text/index.js';
export * as hub from './hub/index.js';
