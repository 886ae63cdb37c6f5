// The `torch` namespace: tensors, creation, math, autograd, scopes and runtime settings.
import './ops-shape.js';
import './ops-math.js';
import './trunc-normal.js';

export { Tensor, liveTensors, type NestedNumbers } from './tensor.js';
export type { DType, Device, NumericArray } from './dtype.js';
export { DTYPES, BYTES_PER_ELEMENT, isFloating } from './dtype.js';
export * from './creation.js';
export { cat, stack, where } from './ops-shape.js';
export { add, mul, matmul, bmm, addmm, einsum, outer } from './ops-math.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { scope, keep } from './scope.js';
export { manualSeed, getNumThreads, setNumThreads, versions, nativeInfo, cuda, bf16Gemm, cpuHasBf16Dot, type Bf16GemmMode } from './runtime.js';
export { cpuCacheStats, emptyCpuCache, type CpuCacheStats } from './cpu-cache.js';
export { GEMM_PROBE, gemmChoice, setGemmPath, measureGemm, gemmCacheStats, clearGemmCache, type GemmPath, type GemmChoice, type GemmRates, type GemmCacheStats } from './gemm.js';
export * as F from './functional.js';
export * as linalg from './linalg.js';
export { svdLowrank } from './linalg.js';
export * as distributed from './distributed-index.js';
