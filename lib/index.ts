// The public surface of node-peft (re-exports only).
export * as torch from './tensor/index.js';
export { Tensor } from './tensor/index.js';
export type { DType, Device } from './tensor/index.js';
export * from './errors.js';
