// Choosing the next token from a causal LM's last logits, as transformers' generate does: its logits processors
// in its order (repetition penalty, then when sampling temperature, top-k, top-p), then argmax or a draw from
// the softmax. Draws use a small seeded generator per request (not LibTorch's global one), so a seed gives the
// same tokens whatever else runs in the process. Shared by lib/models/generation.ts and the server's scheduler.
import { TorchError } from '../errors.js';
import { softmax } from '../tensor/functional.js';
import { where } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { seededRandom } from '../train/random.js';

export { seededRandom };

/** The sampling fields of transformers' GenerationConfig, camelCased. */
export interface SamplingOptions {
  /** Draw from the distribution instead of taking the most likely token (default: true when temperature > 0 is given). */
  doSample?: boolean;
  /** Divides the logits before drawing (default 1; 0 = greedy). */
  temperature?: number;
  /** Draw among the k most likely tokens only (default 50 as in transformers; 0 = all). */
  topK?: number;
  /** Draw among the most likely tokens whose probabilities sum to topP (default 1 = all). */
  topP?: number;
  /** > 1 discourages tokens already in the prompt or output (CTRL's penalty; default 1 = off). */
  repetitionPenalty?: number;
  /** Seeds the draws: the same seed and inputs give the same tokens (default: a random seed). */
  seed?: number;
}

export interface Sampling {
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

/** Checks the options (naming the one that is wrong) and fills transformers' defaults. */
export function resolveSampling(o: SamplingOptions, where = 'generate'): Sampling {
  const temperature = o.temperature ?? 1;
  if (!(typeof temperature === 'number' && temperature >= 0 && Number.isFinite(temperature))) throw new TorchError(`${where}: temperature must be a number >= 0, got ${temperature}`);
  const topK = o.topK ?? 50;
  if (!Number.isInteger(topK) || topK < 0) throw new TorchError(`${where}: topK must be a non-negative integer, got ${topK}`);
  const topP = o.topP ?? 1;
  if (!(typeof topP === 'number' && topP > 0 && topP <= 1)) throw new TorchError(`${where}: topP must be in (0, 1], got ${topP}`);
  const repetitionPenalty = o.repetitionPenalty ?? 1;
  if (!(typeof repetitionPenalty === 'number' && repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) {
    throw new TorchError(`${where}: repetitionPenalty must be a number > 0, got ${repetitionPenalty}`);
  }
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new TorchError(`${where}: seed must be an integer, got ${o.seed}`);
  if (o.doSample !== undefined && typeof o.doSample !== 'boolean') throw new TorchError(`${where}: doSample must be true or false, got ${String(o.doSample)}`);
  const doSample = (o.doSample ?? (o.temperature !== undefined && o.temperature > 0)) && temperature > 0;
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  return { doSample, temperature, topK, topP, repetitionPenalty, seed };
}

/**
 * transformers' RepetitionPenaltyLogitsProcessor on (B, V) scores: every id in `seen` (B, L; prompt and output,
 * padding included as transformers does) has its score divided by the penalty, or multiplied when negative.
 */
export function applyRepetitionPenalty(scores: Tensor, seen: Tensor, penalty: number): Tensor {
  if (penalty === 1) return scores;
  return scope(() => {
    const picked = scores.gather(1, seen);
    const penalised = where(picked.lt(0), picked.mul(penalty), picked.div(penalty));
    return scores.scatter(1, seen, penalised);
  });
}

/** transformers' TopKLogitsWarper: scores below the k-th largest become -inf (ties with it are kept). */
export function applyTopK(scores: Tensor, topK: number): Tensor {
  const k = Math.min(topK, scores.shape[1]);
  if (k <= 0 || k >= scores.shape[1]) return scores;
  return scope(() => {
    const [values] = scores.topk(k, -1);
    return scores.maskedFill(scores.lt(values.slice(1, k - 1)), -Infinity);
  });
}

/** transformers' TopPLogitsWarper: drops the least likely tokens whose probabilities sum to <= 1 - topP (keeps >= 1). */
export function applyTopP(scores: Tensor, topP: number): Tensor {
  if (topP >= 1) return scores;
  return scope(() => {
    const [sorted, order] = scores.sort(-1, false);
    const removeSorted = softmax(sorted, -1).cumsum(-1).le(1 - topP);
    removeSorted.select(1, sorted.shape[1] - 1).fill_(false);
    return scores.maskedFill(removeSorted.scatter(1, order, removeSorted), -Infinity);
  });
}

/**
 * The processed float32 scores (B, V) for last-position logits (B, V), in transformers' order: repetition
 * penalty; then, only when sampling, temperature, top-k and top-p. `seen` holds each row's ids so far (B, L).
 */
export function processLogits(logits: Tensor, seen: Tensor | null, s: Sampling): Tensor {
  return scope(() => {
    let scores = logits.to('float32');
    if (seen && s.repetitionPenalty !== 1) scores = applyRepetitionPenalty(scores, seen, s.repetitionPenalty);
    if (!s.doSample) return scores;
    if (s.temperature !== 1) scores = scores.div(s.temperature);
    if (s.topK > 0) scores = applyTopK(scores, s.topK);
    return applyTopP(scores, s.topP);
  });
}


/** An index drawn from unnormalised non-negative weights (a row of probabilities). */
export function drawIndex(weights: ArrayLike<number>, random: () => number): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  let target = random() * total;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    target -= weights[i];
    if (target < 0) return i;
  }
  if (last < 0) throw new TorchError('generate: every token has probability 0 (the scores are all -inf or NaN)');
  return last; // rounding left a sliver of the total: the last possible token
}

/** Next token per row from processed scores (B, V): argmax when greedy, else a seeded draw from the softmax. */
export function chooseTokens(scores: Tensor, s: Sampling, random: () => number): number[] {
  if (!s.doSample) {
    const best = scores.argmax(-1);
    const ids = Array.from(best.toArray(), Number);
    best.dispose();
    return ids;
  }
  const probs = softmax(scores, -1);
  const [rows, vocab] = probs.shape;
  const flat = probs.toArray() as Float32Array;
  probs.dispose();
  return Array.from({ length: rows }, (_, row) => drawIndex(flat.subarray(row * vocab, (row + 1) * vocab), random));
}
