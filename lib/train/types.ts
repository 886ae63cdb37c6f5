// What the training loop needs from a model, an optimizer and a scheduler (structural, so any Module whose
// forward returns { logits }, and any optimizer with state export, will do).
import type { ModelInputs } from '../models/base.js';
import type { Module } from '../nn/module.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Batch } from './data-loader.js';

/**
 * A model whose forward takes named inputs (Hugging Face names) and returns { logits }: the models of
 * node-peft/models, a PeftModel of one, or any Module with such a forward.
 */
export interface LogitsModel extends Module {
  forward(inputs: ModelInputs & Record<string, unknown>): { logits: Tensor };
}

export interface TrainOptimizer {
  step(): void;
  zeroGrad(): void;
  stateDict(): OptimizerStateDict;
  loadStateDict(state: OptimizerStateDict): void;
}

/** A learning-rate scheduler stepped once per optimizer step; its state must be JSON. */
export interface TrainScheduler {
  step(): void;
  stateDict(): object;
  loadStateDict(state: object): void;
  getLastLr?(): number[];
}

/** The loss of one batch from the model's logits (default: cross entropy against batch.labels). */
export type LossFn = (logits: Tensor, batch: Batch) => Tensor;

/** The model inputs of a batch (default: every tensor but the labels). */
export type InputsFn = (batch: Batch) => Record<string, Tensor>;
