// F.*: the functional ops models are built from (names as torch.nn.functional, camelCase).
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import { intArg, intsArg, optIntArg, optTensorArg, tensorArg } from './check.js';
import type { DType } from './dtype.js';
import { ensureGemmChosen } from './gemm.js';
import { Tensor, wrap } from './tensor.js';

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** x Wᵀ + b; a frozen fp32 CPU weight goes through the GEMM path chosen for this CPU (lib/tensor/gemm.ts). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  ensureGemmChosen();
  return wrap(N.linear(tensorArg(x, 'linear: x'), tensorArg(weight, 'linear: weight'), optTensorArg(bias, 'linear: bias')));
}

export function softmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return wrap(N.softmax(tensorArg(x, 'softmax: x'), intArg(dim, 'softmax: dim'), dtype ?? null));
}

export function logSoftmax(x: Tensor, dim: number, dtype?: DType): Tensor {
  return wrap(N.logSoftmax(tensorArg(x, 'logSoftmax: x'), intArg(dim, 'logSoftmax: dim'), dtype ?? null));
}

/** x·cos + rotate_half(x)·sin for x (B, nh, S, hd) and cos/sin (B|1, S, hd): rotary position embeddings. */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return wrap(N.applyRotary(tensorArg(x, 'applyRotary: x'), tensorArg(cos, 'applyRotary: cos'), tensorArg(sin, 'applyRotary: sin')));
}

export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return wrap(N.layerNorm(tensorArg(x, 'layerNorm: x'), intsArg(normalizedShape, 'layerNorm: normalizedShape'),
    optTensorArg(weight, 'layerNorm: weight'), optTensorArg(bias, 'layerNorm: bias'), eps));
}

export function rmsNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, eps?: number): Tensor {
  return wrap(N.rmsNorm(tensorArg(x, 'rmsNorm: x'), intsArg(normalizedShape, 'rmsNorm: normalizedShape'),
    optTensorArg(weight, 'rmsNorm: weight'), eps ?? null));
}

export function embedding(input: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  return wrap(N.embedding(tensorArg(weight, 'embedding: weight'), tensorArg(input, 'embedding: input'), optIntArg(paddingIdx, 'embedding: paddingIdx')));
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  const ints2 = (v: number | [number, number], what: string): number[] => intsArg(pair(v), `conv2d: ${what}`);
  return wrap(N.conv2d(tensorArg(x, 'conv2d: x'), tensorArg(weight, 'conv2d: weight'), optTensorArg(bias, 'conv2d: bias'),
    ints2(o.stride ?? 1, 'stride'), ints2(o.padding ?? 0, 'padding'), ints2(o.dilation ?? 1, 'dilation'), intArg(o.groups ?? 1, 'conv2d: groups')));
}

export interface Conv3dOptions {
  stride?: number | [number, number, number];
  padding?: number | [number, number, number];
  dilation?: number | [number, number, number];
  groups?: number;
}

const triple = (v: number | [number, number, number]): [number, number, number] => (Array.isArray(v) ? v : [v, v, v]);

/** x (N, in, D, H, W), weight (out, in/groups, kd, kh, kw) -> (N, out, D', H', W'), as F.conv3d. */
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv3dOptions = {}): Tensor {
  const ints3 = (v: number | [number, number, number], what: string): number[] => intsArg(triple(v), `conv3d: ${what}`);
  return wrap(N.conv3d(tensorArg(x, 'conv3d: x'), tensorArg(weight, 'conv3d: weight'), optTensorArg(bias, 'conv3d: bias'),
    ints3(o.stride ?? 1, 'stride'), ints3(o.padding ?? 0, 'padding'), ints3(o.dilation ?? 1, 'dilation'), intArg(o.groups ?? 1, 'conv3d: groups')));
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TorchError(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(N.dropout(tensorArg(x, 'dropout: x'), p, training));
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
  return wrap(N.crossEntropy(tensorArg(logits, 'crossEntropy: logits'), tensorArg(target, 'crossEntropy: target'),
    optTensorArg(o.weight, 'crossEntropy: weight'), o.reduction ?? 'mean',
    o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
}

export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return wrap(N.nllLoss(tensorArg(logProbs, 'nllLoss: logProbs'), tensorArg(target, 'nllLoss: target'),
    optTensorArg(o.weight, 'nllLoss: weight'), o.reduction ?? 'mean', o.ignoreIndex ?? -100));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(N.mseLoss(tensorArg(input, 'mseLoss: input'), tensorArg(target, 'mseLoss: target'), reduction));
}

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'bilinear' | 'bicubic' | 'nearest';
  alignCorners?: boolean;
  /** Low-pass filter when shrinking (bilinear and bicubic), as PIL's resize does; default false. */
  antialias?: boolean;
}

/** Resizes a [N, C, H, W] tensor, as torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  tensorArg(x, 'interpolate: x');
  if (x.ndim !== 4) throw new TorchError(`interpolate: expected a 4-D input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  const mode = o.mode ?? 'nearest';
  let size = o.size;
  let scales: [number, number] | null = null;
  if (size === undefined) {
    if (o.scaleFactor === undefined) throw new TorchError('interpolate: pass size or scaleFactor');
    scales = pair(o.scaleFactor);
    size = [Math.floor(x.shape[2] * scales[0]), Math.floor(x.shape[3] * scales[1])];
  }
  const antialias = o.antialias ?? false;
  if (antialias && mode === 'nearest') throw new TorchError("interpolate: antialias applies to 'bilinear' and 'bicubic' only, got 'nearest'");
  return wrap(N.interpolate(x.handle, size, mode, mode === 'nearest' ? false : (o.alignCorners ?? false), scales, antialias));
}

export interface AttentionOptions {
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  scale?: number;
  enableGqa?: boolean;
}

export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor {
  return wrap(N.scaledDotProductAttention(tensorArg(q, 'scaledDotProductAttention: q'), tensorArg(k, 'scaledDotProductAttention: k'),
    tensorArg(v, 'scaledDotProductAttention: v'), optTensorArg(o.attnMask, 'scaledDotProductAttention: attnMask'), o.dropoutP ?? 0,
    o.isCausal ?? false, o.scale ?? null, o.enableGqa ?? false));
}

export function pad(x: Tensor, padding: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  return wrap(N.pad(tensorArg(x, 'pad: x'), intsArg(padding, 'pad: padding'), mode, mode === 'constant' ? value : null));
}

export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return wrap(N.oneHot(tensorArg(indices, 'oneHot: indices'), intArg(numClasses, 'oneHot: numClasses')));
}

export const relu = (x: Tensor): Tensor => x.relu();
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => x.gelu(approximate);
export const silu = (x: Tensor): Tensor => x.silu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();
