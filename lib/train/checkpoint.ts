// Training checkpoints: the trainable weights, the optimizer state, the scheduler and the data position,
// in <outputDir>/checkpoint-<step>/. The folder is replaced as a whole (serialization/replace-folder.ts), so a
// checkpoint folder that exists is always whole, and what a killed save left is cleaned by the next one.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TorchError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { OptimizerMeta } from '../optim/optimizer.js';
import { writeFileAtomicSync } from '../serialization/atomic-write.js';
import { loadWithMetadataSync } from '../serialization/load.js';
import { recoverFolders, replaceFolderSync } from '../serialization/replace-folder.js';
import { saveSync } from '../serialization/save.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoaderPosition } from './data-loader.js';
import type { TrainOptimizer, TrainScheduler } from './types.js';

export const CHECKPOINT_FORMAT = 'node-peft.trainer.v1';
const WEIGHTS = 'trainable.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const STATE = 'trainer_state.json';

export interface TrainerState {
  format: typeof CHECKPOINT_FORMAT;
  /** Optimizer steps done. */
  step: number;
  /** Where the training data continues. */
  loader: LoaderPosition;
  scheduler: object | null;
  /** Anything else the caller wants back on resume (JSON). */
  extra?: Record<string, unknown>;
}

export interface CheckpointParts {
  model: Module;
  optimizer: TrainOptimizer;
  scheduler?: TrainScheduler | null;
}

/** The trainable parameters (requires_grad) by name: what a checkpoint stores of the model. */
export function trainableParameters(model: Module): [string, Tensor][] {
  return model.namedParameters().filter(([, p]) => p.requiresGrad);
}

export function checkpointPath(outputDir: string, step: number): string {
  return join(outputDir, `checkpoint-${step}`);
}

/** Writes checkpoint-<step> atomically and keeps only the newest `keep` checkpoints (default 2). */
export function saveCheckpoint(outputDir: string, parts: CheckpointParts, state: Omit<TrainerState, 'format' | 'scheduler'>, keep = 2): string {
  mkdirSync(outputDir, { recursive: true });
  recoverFolders(outputDir);
  const final = checkpointPath(outputDir, state.step);
  replaceFolderSync(final, (staging) => {
    saveSync(join(staging, WEIGHTS), Object.fromEntries(trainableParameters(parts.model)), { format: CHECKPOINT_FORMAT });
    const optimizerState = parts.optimizer.stateDict();
    saveSync(join(staging, OPTIMIZER), optimizerState.tensors, { optimizer: JSON.stringify(optimizerState.meta) });
    const full: TrainerState = { format: CHECKPOINT_FORMAT, ...state, scheduler: parts.scheduler?.stateDict() ?? null };
    const text = Buffer.from(`${JSON.stringify(full, null, 2)}\n`);
    writeFileAtomicSync(join(staging, STATE), (fd) => {
      for (let done = 0; done < text.length; ) done += writeSync(fd, text, done, text.length - done, done);
    });
  });
  for (const old of listCheckpoints(outputDir).slice(0, -Math.max(1, keep))) rmSync(old.path, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints in outputDir, oldest first. */
export function listCheckpoints(outputDir: string): { step: number; path: string }[] {
  if (!existsSync(outputDir)) return [];
  recoverFolders(outputDir);
  return readdirSync(outputDir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(outputDir, m[0], STATE)))
    .map((m) => ({ step: Number(m[1]), path: join(outputDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(outputDir: string): string | null {
  return listCheckpoints(outputDir).at(-1)?.path ?? null;
}

export function readTrainerState(checkpointDir: string): TrainerState {
  const path = join(checkpointDir, STATE);
  if (!existsSync(path)) throw new TorchError(`checkpoint: ${checkpointDir} is not a checkpoint (no ${STATE})`);
  const state = JSON.parse(readFileSync(path, 'utf8')) as TrainerState;
  if (state.format !== CHECKPOINT_FORMAT) throw new TorchError(`checkpoint: ${path} has format ${JSON.stringify(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  return state;
}

/** Restores weights, optimizer and scheduler from a checkpoint into the same kind of model; returns its state. */
export function loadCheckpoint(checkpointDir: string, parts: CheckpointParts): TrainerState {
  const state = readTrainerState(checkpointDir);
  const weights = loadWithMetadataSync(join(checkpointDir, WEIGHTS)).tensors;
  const optimizer = loadWithMetadataSync(join(checkpointDir, OPTIMIZER));
  try {
    const own = new Map(trainableParameters(parts.model));
    const missing = [...own.keys()].filter((name) => !(name in weights));
    const unexpected = Object.keys(weights).filter((name) => !own.has(name));
    if (missing.length || unexpected.length) {
      throw new TorchError(
        `checkpoint ${checkpointDir} does not fit the model's trainable parameters` +
          (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : '') +
          (unexpected.length ? `; unexpected: ${unexpected.slice(0, 5).join(', ')}` : ''),
      );
    }
    noGrad(() => {
      for (const [name, p] of own) {
        const source = weights[name];
        if (source.shape.join(',') !== p.shape.join(',')) {
          throw new TorchError(`checkpoint: ${name} has shape [${source.shape.join(', ')}], the model's is [${p.shape.join(', ')}]`);
        }
        p.copy_(source);
      }
    });
    const meta = optimizer.metadata?.optimizer;
    if (meta === undefined) throw new TorchError(`checkpoint: ${join(checkpointDir, OPTIMIZER)} has no 'optimizer' metadata`);
    parts.optimizer.loadStateDict({ tensors: optimizer.tensors, meta: JSON.parse(meta) as OptimizerMeta });
    if (parts.scheduler && state.scheduler) parts.scheduler.loadStateDict(state.scheduler);
  } finally {
    for (const t of [...Object.values(weights), ...Object.values(optimizer.tensors)]) t.dispose();
  }
  return state;
}

/**
 * A new run (no resume) refuses an output folder with anything in it, as transformers' Trainer scripts do: an
 * earlier run's newer checkpoints would prune the new ones and a later resume would continue the old run. With
 * overwrite, the earlier run's checkpoints are removed first.
 */
export function prepareOutputDir(outputDir: string, options: { resume: boolean; overwrite: boolean }): void {
  if (options.resume || !existsSync(outputDir)) return;
  const entries = readdirSync(outputDir).filter((name) => !name.startsWith('.'));
  if (entries.length === 0) return;
  if (!options.overwrite) {
    throw new TorchError(
      `train: output folder ${outputDir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); ` +
        'resume the run there (resume: true), choose another folder, or pass overwriteOutputDir: true (train.json: "overwrite_output_dir": true)',
    );
  }
  recoverFolders(outputDir);
  for (const old of listCheckpoints(outputDir)) rmSync(old.path, { recursive: true, force: true });
}
