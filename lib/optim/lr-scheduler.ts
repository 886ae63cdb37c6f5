// Learning-rate schedules: LambdaLR (as torch.optim.lr_scheduler.LambdaLR) and the warmup schedules of
// transformers' get_*_schedule_with_warmup, with the same formulas.
import { TorchError } from '../errors.js';

/** The multiplier of a group's initial lr at a step (0-based). */
export type LrLambda = (step: number) => number;

/** What a scheduler needs of an optimizer: groups with a mutable lr. */
export interface SchedulableOptimizer {
  paramGroups: { lr: number; initialLr?: number }[];
}

export interface LambdaLRState {
  last_epoch: number;
  base_lrs: number[];
}

/** Sets each group's lr to initialLr × lambda(step); construction applies step 0, each step() advances one. */
export class LambdaLR {
  readonly optimizer: SchedulableOptimizer;
  readonly baseLrs: number[];
  lastEpoch: number;
  readonly #lambdas: LrLambda[];

  /** lastEpoch >= 0 resumes: the groups must already hold initialLr (restored with the optimizer's state). */
  constructor(optimizer: SchedulableOptimizer, lrLambda: LrLambda | LrLambda[], lastEpoch = -1) {
    const groups = optimizer.paramGroups;
    this.#lambdas = Array.isArray(lrLambda) ? lrLambda : groups.map(() => lrLambda);
    if (this.#lambdas.length !== groups.length) {
      throw new TorchError(`LambdaLR: expected ${groups.length} lr lambdas (one per param group), got ${this.#lambdas.length}`);
    }
    groups.forEach((group, i) => {
      if (lastEpoch === -1) group.initialLr ??= group.lr;
      else if (group.initialLr === undefined) {
        throw new TorchError(`LambdaLR: param group ${i} has no initialLr; load the optimizer state before resuming at lastEpoch ${lastEpoch}`);
      }
    });
    this.optimizer = optimizer;
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this.step();
  }

  step(): void {
    this.lastEpoch += 1;
    this.optimizer.paramGroups.forEach((group, i) => {
      group.lr = this.baseLrs[i] * this.#lambdas[i](this.lastEpoch);
    });
  }

  /** The lr of each group after the latest step. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): LambdaLRState {
    return { last_epoch: this.lastEpoch, base_lrs: [...this.baseLrs] };
  }

  loadStateDict(state: LambdaLRState): void {
    if (!Number.isInteger(state?.last_epoch) || !Array.isArray(state.base_lrs) || state.base_lrs.length !== this.baseLrs.length) {
      throw new TorchError(`LambdaLR.loadStateDict: expected { last_epoch, base_lrs[${this.baseLrs.length}] }, got ${JSON.stringify(state)}`);
    }
    this.baseLrs.splice(0, this.baseLrs.length, ...state.base_lrs);
    this.lastEpoch = state.last_epoch - 1;
    this.step();
  }
}

export interface WarmupOptions {
  numWarmupSteps: number;
}

export interface WarmupDecayOptions extends WarmupOptions {
  numTrainingSteps: number;
}

export interface CosineOptions extends WarmupDecayOptions {
  /** Waves of the cosine (0.5: one half-wave from 1 down to 0). */
  numCycles?: number;
  /** The floor as a fraction of the initial lr (transformers' cosine_with_min_lr). */
  minLrRate?: number;
}

function checkSteps(schedule: string, options: Record<string, unknown>, names: string[]): void {
  for (const name of names) {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new TorchError(`${schedule}: ${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
}

const warmup = (step: number, numWarmupSteps: number): number => step / Math.max(1, numWarmupSteps);

export const constantLambda = (): LrLambda => () => 1;

export function constantWithWarmupLambda(options: WarmupOptions): LrLambda {
  checkSteps('constantWithWarmup', { ...options }, ['numWarmupSteps']);
  const { numWarmupSteps } = options;
  return (step) => (step < numWarmupSteps ? warmup(step, numWarmupSteps) : 1);
}

export function linearWithWarmupLambda(options: WarmupDecayOptions): LrLambda {
  checkSteps('linearWithWarmup', { ...options }, ['numWarmupSteps', 'numTrainingSteps']);
  const { numWarmupSteps, numTrainingSteps } = options;
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    return Math.max(0, (numTrainingSteps - step) / Math.max(1, numTrainingSteps - numWarmupSteps));
  };
}

export function cosineWithWarmupLambda(options: CosineOptions): LrLambda {
  checkSteps('cosineWithWarmup', { ...options }, ['numWarmupSteps', 'numTrainingSteps']);
  const { numWarmupSteps, numTrainingSteps, numCycles = 0.5, minLrRate = 0 } = options;
  return (step) => {
    if (step < numWarmupSteps) return warmup(step, numWarmupSteps);
    const progress = (step - numWarmupSteps) / Math.max(1, numTrainingSteps - numWarmupSteps);
    const factor = 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress));
    return Math.max(0, factor * (1 - minLrRate) + minLrRate);
  };
}

/** transformers.get_constant_schedule */
export const getConstantSchedule = (optimizer: SchedulableOptimizer, lastEpoch = -1): LambdaLR =>
  new LambdaLR(optimizer, constantLambda(), lastEpoch);

/** transformers.get_constant_schedule_with_warmup: 0 → 1 linearly over the warmup, then 1. */
export const getConstantScheduleWithWarmup = (optimizer: SchedulableOptimizer, options: WarmupOptions, lastEpoch = -1): LambdaLR =>
  new LambdaLR(optimizer, constantWithWarmupLambda(options), lastEpoch);

/** transformers.get_linear_schedule_with_warmup: warmup, then linear decay to 0 at numTrainingSteps. */
export const getLinearScheduleWithWarmup = (optimizer: SchedulableOptimizer, options: WarmupDecayOptions, lastEpoch = -1): LambdaLR =>
  new LambdaLR(optimizer, linearWithWarmupLambda(options), lastEpoch);

/** transformers.get_cosine_schedule_with_warmup (and, with minLrRate, get_cosine_with_min_lr_schedule_with_warmup). */
export const getCosineScheduleWithWarmup = (optimizer: SchedulableOptimizer, options: CosineOptions, lastEpoch = -1): LambdaLR =>
  new LambdaLR(optimizer, cosineWithWarmupLambda(options), lastEpoch);
