// The losses transformers computes when forward() is given labels.
import { TorchError } from '../errors.js';
import { crossEntropy, mseLoss } from '../tensor/functional.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Next-token cross entropy: logits (B, S, V) at t predict labels at t+1; -100 labels are ignored. Float32. */
export function causalLmLoss(logits: Tensor, labels: Tensor): Tensor {
  if (labels.ndim !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1]) {
    throw new TorchError(`labels: expected shape [${logits.shape.slice(0, 2).join(', ')}], got [${labels.shape.join(', ')}]`);
  }
  return scope(() => {
    const vocab = logits.shape[2];
    const predictions = logits.slice(1, 0, -1).to('float32').reshape(-1, vocab);
    const targets = labels.slice(1, 1).reshape(-1);
    return crossEntropy(predictions, targets, { ignoreIndex: -100 });
  });
}

/** Sequence classification as transformers: one label → regression (MSE), integer labels → cross entropy. */
export function classificationLoss(logits: Tensor, labels: Tensor, numLabels: number): Tensor {
  return scope(() => {
    if (numLabels === 1) return mseLoss(logits.squeeze(-1).to('float32'), labels.to('float32').reshape(-1));
    if (labels.dtype !== 'int64' && labels.dtype !== 'int32') {
      throw new TorchError(`labels: expected integer class ids for ${numLabels} labels, got dtype ${labels.dtype}`);
    }
    return crossEntropy(logits.to('float32').reshape(-1, numLabels), labels.reshape(-1).to('int64'));
  });
}
