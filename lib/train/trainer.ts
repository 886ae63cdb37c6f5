// The training loop: forward, loss, backward (with gradient accumulation), gradient clipping, optimizer
// and scheduler steps, zeroing the gradients; periodic evaluation, metrics, progress and checkpoints.
// Each micro-batch runs inside torch.scope(), so memory stays flat however long the run.
import { TorchError } from '../errors.js';
import { clipGradNorm } from '../optim/clip.js';
import { manualSeed } from '../tensor/runtime.js';
import { scope } from '../tensor/scope.js';
import { latestCheckpoint, loadCheckpoint, prepareOutputDir, saveCheckpoint, trainableParameters } from './checkpoint.js';
import type { BatchLoader } from './data-loader.js';
import { DataParallel, type DataParallelGroup } from './data-parallel.js';
import { defaultInputs, defaultLoss, evaluate, LABELS, type EvaluateResult } from './evaluate.js';
import { MetricsLog, type MetricsRecord } from './metrics.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import type { InputsFn, LogitsModel, LossFn, TrainOptimizer, TrainScheduler } from './types.js';

export interface TrainOptions {
  model: LogitsModel;
  optimizer: TrainOptimizer;
  scheduler?: TrainScheduler | null;
  data: BatchLoader;
  /** Optimizer steps to reach (a resumed run continues up to this count). */
  steps: number;
  loss?: LossFn;
  inputs?: InputsFn;
  labelKey?: string;
  /** Micro-batches per optimizer step (default 1); each loss is divided by this count. */
  gradientAccumulationSteps?: number;
  /** Clip the total gradient norm to this value (default: no clipping). */
  maxGradNorm?: number | null;
  /** Reseed LibTorch's generator before each step with a value from (seed, step), so dropout is reproducible after resume. */
  seed?: number | null;
  /** Evaluate on this data every `evalEvery` steps and at the end. */
  evalData?: BatchLoader | null;
  evalEvery?: number;
  /** Write a train metrics line every `logEvery` steps (default 10). */
  logEvery?: number;
  /** JSON lines file for the metrics (a MetricsLog or a path). */
  metrics?: MetricsLog | string | null;
  /** Checkpoints in outputDir/checkpoint-<step>/ every `checkpointEvery` steps (and at the end). */
  outputDir?: string | null;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  /** true: continue from the latest checkpoint in outputDir, if any; a path: from that checkpoint. */
  resume?: boolean | string;
  /** Without resume, a non-empty outputDir is an error unless this is true (then its old checkpoints are removed). */
  overwriteOutputDir?: boolean;
  /** Progress bar on stderr (default), on another stream, or off (false). */
  progress?: boolean | ProgressStream;
  progressLabel?: string;
  /** Called after each optimizer step with its mean loss. */
  onStep?: (step: number, loss: number) => void;
  onEval?: (step: number, result: EvaluateResult) => void;
  /**
   * Data-parallel training over this process group: the loader must be this rank's shard (DataLoader rank/worldSize);
   * trainable parameters start from rank 0's values, gradients are averaged across ranks before clipping (so the
   * global norm is clipped), and only rank 0 writes checkpoints, metrics, progress and evaluates.
   */
  processGroup?: DataParallelGroup | null;
}

export interface TrainResult {
  /** Optimizer steps done in all (including those before a resume). */
  step: number;
  /** Mean loss of each step this call ran, in order, with its step number. */
  losses: { step: number; loss: number }[];
  /** The last evaluation, if any. */
  eval: EvaluateResult | null;
  seconds: number;
  /** The checkpoint the run resumed from, or null. */
  resumedFrom: string | null;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new TorchError(`train: ${what}: expected a positive integer, got ${String(value)}`);
  return n;
}

/** A 31-bit seed for step `step` of a run seeded with `seed`. */
function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed + 1, 0x2c1b3c6d) ^ Math.imul(step + 1, 0x297a2d39)) >>> 1;
}

function openMetrics(metrics: TrainOptions['metrics'], resuming: boolean): MetricsLog | null {
  if (!metrics) return null;
  return typeof metrics === 'string' ? new MetricsLog(metrics, { append: resuming }) : metrics;
}

/** Runs the loop until `steps` optimizer steps are done. */
export function train(options: TrainOptions): TrainResult {
  const { model, optimizer, scheduler = null, data } = options;
  const steps = positiveInteger(options.steps, 1, 'steps');
  const accumulation = positiveInteger(options.gradientAccumulationSteps, 1, 'gradientAccumulationSteps');
  const logEvery = positiveInteger(options.logEvery, 10, 'logEvery');
  const evalEvery = options.evalData ? positiveInteger(options.evalEvery, steps, 'evalEvery') : Infinity;
  const checkpointEvery = options.outputDir ? positiveInteger(options.checkpointEvery, steps, 'checkpointEvery') : Infinity;
  const lossFn = options.loss ?? defaultLoss;
  const labelKey = options.labelKey ?? LABELS;
  const inputsOf = options.inputs ?? defaultInputs(labelKey);
  const trainable = trainableParameters(model);
  if (trainable.length === 0) throw new TorchError('train: the model has no trainable parameters (none requires grad)');
  const parallel = options.processGroup ? new DataParallel(options.processGroup, trainable.map(([, p]) => p)) : null;
  if (parallel && ((data.worldSize ?? 1) !== parallel.worldSize || (data.rank ?? 0) !== parallel.rank)) {
    throw new TorchError(`train: the data loader is shard ${data.rank ?? 0} of ${data.worldSize ?? 1}, but this process is rank ${parallel.rank} of ${parallel.worldSize}`);
  }
  const isMain = parallel?.isMain ?? true;

  if (isMain && options.outputDir) prepareOutputDir(options.outputDir, { resume: Boolean(options.resume), overwrite: options.overwriteOutputDir === true });
  let resumedFrom: string | null = null;
  if (options.resume) {
    if (typeof options.resume === 'string') resumedFrom = options.resume;
    else if (options.outputDir) resumedFrom = latestCheckpoint(options.outputDir);
    else throw new TorchError('train: resume: true needs outputDir (where the checkpoints are)');
  }
  let step = 0;
  if (resumedFrom) {
    const state = loadCheckpoint(resumedFrom, { model, optimizer, scheduler });
    step = state.step;
    data.seek(state.loader);
  }
  parallel?.syncParameters();
  const metrics = isMain ? openMetrics(options.metrics, resumedFrom !== null) : null;
  if (metrics && resumedFrom) metrics.truncateAfter(step);
  const progress = options.progress === false || !isMain ? null
    : new ProgressBar({ total: steps, label: options.progressLabel, stream: options.progress === true || options.progress === undefined ? undefined : options.progress });

  const losses: { step: number; loss: number }[] = [];
  let lastEval: EvaluateResult | null = null;
  let samples = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  const started = performance.now();
  const log = (record: MetricsRecord): void => metrics?.write(record);

  model.train();
  optimizer.zeroGrad();
  while (step < steps) {
    if (options.seed !== undefined && options.seed !== null) manualSeed(stepSeed(options.seed, step));
    let stepLoss = 0;
    for (let micro = 0; micro < accumulation; micro++) {
      stepLoss += scope(() => {
        const batch = data.next();
        samples += batch[Object.keys(batch)[0]].shape[0] * (parallel?.worldSize ?? 1);
        const loss = lossFn(model.forward(inputsOf(batch)).logits, batch);
        const value = loss.item();
        if (!Number.isFinite(value)) throw new TorchError(`train: the loss is ${value} at step ${step + 1}`);
        (accumulation > 1 ? loss.div(accumulation) : loss).backward();
        return value;
      });
    }
    stepLoss /= accumulation;
    if (parallel) {
      parallel.averageGradients();
      stepLoss = parallel.mean(stepLoss);
    }
    const gradNorm = options.maxGradNorm ? clipGradNorm(trainable.map(([, p]) => p), options.maxGradNorm) : null;
    const lr = scheduler?.getLastLr?.()[0];
    optimizer.step();
    scheduler?.step();
    optimizer.zeroGrad();
    step += 1;
    losses.push({ step, loss: stepLoss });
    windowLoss += stepLoss;
    windowSteps += 1;
    options.onStep?.(step, stepLoss);

    if (step % logEvery === 0 || step === steps) {
      const record: MetricsRecord = { step, split: 'train', loss: windowLoss / windowSteps };
      if (lr !== undefined) record.lr = lr;
      if (gradNorm !== null) record.grad_norm = gradNorm;
      record.samples_per_second = samples / ((performance.now() - started) / 1000);
      log(record);
      [windowLoss, windowSteps] = [0, 0];
    }
    if (isMain && options.evalData && (step % evalEvery === 0 || step === steps)) {
      lastEval = evaluate(model, options.evalData, { loss: lossFn, inputs: inputsOf, labelKey });
      log({ step, split: 'eval', loss: lastEval.loss, accuracy: lastEval.accuracy });
      progress?.log(`eval at step ${step}: loss ${lastEval.loss.toFixed(4)}, accuracy ${(lastEval.accuracy * 100).toFixed(2)}%`);
      options.onEval?.(step, lastEval);
    }
    if (isMain && options.outputDir && (step % checkpointEvery === 0 || step === steps)) {
      saveCheckpoint(options.outputDir, { model, optimizer, scheduler }, { step, loader: data.position }, options.keepCheckpoints);
    }
    progress?.update({ step, loss: stepLoss, done: samples, extra: lr !== undefined ? { lr: lr.toExponential(2) } : {} });
  }
  progress?.finish();
  return { step, losses, eval: lastEval, seconds: (performance.now() - started) / 1000, resumedFrom };
}
