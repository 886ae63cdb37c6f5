// The `optim` namespace: optimizers, gradient clipping and learning-rate schedules.
export { Optimizer, type BaseOptions, type OptimizerMeta, type OptimizerStateDict, type ParamGroup, type ParamGroupInput, type ParamsInput } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SGDOptions } from './sgd.js';
export { clipGradNorm } from './clip.js';
export {
  LambdaLR,
  type LambdaLRState,
  type LrLambda,
  type SchedulableOptimizer,
  type WarmupOptions,
  type WarmupDecayOptions,
  type CosineOptions,
  constantLambda,
  constantWithWarmupLambda,
  linearWithWarmupLambda,
  cosineWithWarmupLambda,
  getConstantSchedule,
  getConstantScheduleWithWarmup,
  getLinearScheduleWithWarmup,
  getCosineScheduleWithWarmup,
} from './lr-scheduler.js';
