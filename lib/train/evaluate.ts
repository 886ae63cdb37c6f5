// Evaluation: loss and accuracy of a model over a loader's data in order, without gradients.
import { noGrad } from '../tensor/autograd.js';
import { cat } from '../tensor/ops-shape.js';
import { causalLmLoss } from '../models/losses.js';
import { crossEntropy } from '../tensor/functional.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Batch, DataLoader } from './data-loader.js';
import type { InputsFn, LogitsModel, LossFn } from './types.js';

export const LABELS = 'labels';

/** Cross entropy against `labels`: per row for classifiers (logits [B, C]); next-token for causal LMs (logits [B, S, V], -100 ignored). */
export const defaultLoss: LossFn = (logits, batch) => {
  const labels = batch[LABELS];
  return logits.ndim === 3 && labels?.ndim === 2 ? causalLmLoss(logits, labels) : crossEntropy(logits, labels);
};

export function defaultInputs(labelKey = LABELS): InputsFn {
  return (batch) => {
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(batch)) if (name !== labelKey) inputs[name] = t;
    return inputs;
  };
}

export interface EvaluateOptions {
  loss?: LossFn;
  inputs?: InputsFn;
  labelKey?: string;
  /** Also return every row's logits, concatenated (the caller's to dispose). */
  keepLogits?: boolean;
}

export interface EvaluateResult {
  loss: number;
  /** Share of rows whose argmax logit equals the label; for a causal LM, of labelled next tokens (NaN without labels). */
  accuracy: number;
  count: number;
  /** Argmax class of every row, in order. */
  predictions: number[];
  logits?: Tensor;
}

/** Runs the model in eval mode over `data` (in order, no shuffling); restores its training mode after. */
export function evaluate(model: LogitsModel, data: DataLoader | Iterable<Batch>, options: EvaluateOptions = {}): EvaluateResult {
  const labelKey = options.labelKey ?? LABELS;
  const lossFn = options.loss ?? defaultLoss;
  const inputsOf = options.inputs ?? defaultInputs(labelKey);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let labelled = 0;
  let lossRows = 0;
  let count = 0;
  const predictions: number[] = [];
  const kept: Tensor[] = [];
  // Batches the loader makes are freed here; batches the caller passes stay the caller's.
  const fromLoader = 'inOrder' in data;
  const batches = fromLoader ? data.inOrder() : data;
  try {
    noGrad(() => {
      for (const batch of batches) {
        scope(() => {
          const logits = model.forward(inputsOf(batch)).logits;
          const rows = logits.shape[0];
          const predicted = logits.argmax(-1);
          predictions.push(...Array.from(predicted.toArray(), Number));
          const labels = batch[labelKey];
          if (labels) {
            lossSum += lossFn(logits, batch).item() * rows;
            lossRows += rows;
            if (logits.ndim === 3 && labels.ndim === 2) {
              // causal LM: the token at t predicts label t+1; -100 labels do not count
              const targets = labels.slice(1, 1);
              const counted = targets.ne(-100);
              correct += predicted.slice(1, 0, -1).eq(targets).logicalAnd(counted).sum().item();
              labelled += counted.sum().item();
            } else {
              correct += predicted.eq(labels).sum().item();
              labelled += rows;
            }
          }
          count += rows;
          if (options.keepLogits) kept.push(keep(logits.detach()));
          if (fromLoader) for (const t of Object.values(batch)) t.dispose();
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const result: EvaluateResult = {
    loss: lossRows ? lossSum / lossRows : NaN,
    accuracy: labelled ? correct / labelled : NaN,
    count,
    predictions,
  };
  if (options.keepLogits) {
    result.logits = cat(kept);
    for (const t of kept) t.dispose();
  }
  return result;
}
