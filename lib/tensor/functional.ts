// F.*: the functional ops models are built from (names as torch.nn.functional, camelCase).
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import type { DType } from './dtype.js';
import { Tensor, wrap } from './tensor.js';

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return wrap(N.linear(x.handle, weight.handle, bias?.handle ?? null));
}

export function softmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return wrap(N.softmax(x.handle, dim, dtype ?? null));
}

export function logSoftmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return wrap(N.logSoftmax(x.handle, dim, dtype ?? null));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return wrap(N.layerNorm(x.handle, normalizedShape, weight?.handle ?? null, bias?.handle ?? null, eps));
}

export function rmsNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, eps?: number): Tensor {
  return wrap(N.rmsNorm(x.handle, normalizedShape, weight?.handle ?? null, eps ?? null));
}

export function embedding(input: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  return wrap(N.embedding(weight.handle, input.handle, paddingIdx));
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return wrap(N.conv2d(x.handle, weight.handle, bias?.handle ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0),
    pair(o.dilation ?? 1), o.groups ?? 1));
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TorchError(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(N.dropout(x.handle, p, training));
}

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy over logits [N, C, ...] and class indices [N, ...] (or class probabilities). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return wrap(N.crossEntropy(logits.handle, target.handle, o.weight?.handle ?? null, o.reduction ?? 'mean',
    o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
}

export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return wrap(N.nllLoss(logProbs.handle, target.handle, o.weight?.handle ?? null, o.reduction ?? 'mean', o.ignoreIndex ?? -100));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(N.mseLoss(input.handle, target.handle, reduction));
}

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'bilinear' | 'bicubic' | 'nearest';
  alignCorners?: boolean;
}

/** Resizes a [N, C, H, W] tensor, as torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  if (x.ndim !== 4) throw new TorchError(`interpolate: expected a 4-D input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  const mode = o.mode ?? 'nearest';
  let size = o.size;
  let scales: [number, number] | null = null;
  if (size === undefined) {
    if (o.scaleFactor === undefined) throw new TorchError('interpolate: pass size or scaleFactor');
    scales = pair(o.scaleFactor);
    size = [Math.floor(x.shape[2] * scales[0]), Math.floor(x.shape[3] * scales[1])];
  }
  return wrap(N.interpolate(x.handle, size, mode, mode === 'nearest' ? false : (o.alignCorners ?? false), scales));
}

export interface AttentionOptions {
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  scale?: number;
  enableGqa?: boolean;
}

export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  return wrap(N.scaledDotProductAttention(q.handle, k.handle, v.handle, o.attnMask?.handle ?? null, o.dropoutP ?? 0,
    o.isCausal ?? false, o.scale ?? null, o.enableGqa ?? false));
}

export function pad(x: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  return wrap(N.pad(x.handle, padding, mode, mode === 'constant' ? value : null));
}

export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return wrap(N.oneHot(indices.handle, numClasses));
}

export const relu = (x: Tensor): Tensor => x.relu();
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => x.gelu(approximate);
export const silu = (x: Tensor): Tensor => x.silu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();
