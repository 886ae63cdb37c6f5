// Conv1d, Conv2d and Conv3d, as torch.nn's (padding_mode 'zeros'). Forwards read weight and bias with value(), so a
// parametrization (LoRA target_parameters) applies.
import { TorchError } from '../errors.js';
import { conv2d, conv3d, pad } from '../tensor/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkPair, checkPositiveInt, checkTriple } from './check.js';
import type { FactoryOptions } from './parameter.js';
import { WeightBiasLayer } from './weight-bias-layer.js';

type Pair = number | [number, number];

export interface Conv2dOptions extends FactoryOptions {
  stride?: Pair;
  /** Zero padding per side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution: weight [out, in/groups, kh, kw], bias [out]; PyTorch's default init. */
export class Conv2d extends WeightBiasLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    this.inChannels = checkPositiveInt('Conv2d', 'inChannels', inChannels);
    this.outChannels = checkPositiveInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = checkPair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = checkPair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.dilation = checkPair('Conv2d', 'dilation', options.dilation ?? 1, 1);
    this.groups = checkPositiveInt('Conv2d', 'groups', options.groups ?? 1);
    if (inChannels % this.groups !== 0) throw new TorchError(`Conv2d: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new TorchError(`Conv2d: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    const padding = options.padding ?? 0;
    if (padding === 'same') {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) throw new TorchError("Conv2d: padding='same' is not supported for strided convolutions");
      this.padding = 'same';
    } else {
      this.padding = padding === 'valid' ? [0, 0] : checkPair('Conv2d', 'padding', padding, 0);
    }
    const [kh, kw] = this.kernelSize;
    this.registerWeightAndBias([outChannels, inChannels / this.groups, kh, kw], options);
  }

  forward(x: Tensor): Tensor {
    // (N, in, H, W) -> (N, out, H', W')
    const weight = this.value('weight');
    const bias = this.valueOrNull('bias');
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.padding !== 'same') return conv2d(x, weight, bias, { ...options, padding: this.padding });
    // As PyTorch: total padding d*(k-1) per dim; an odd total puts the extra row/column after.
    const totals = [this.dilation[0] * (this.kernelSize[0] - 1), this.dilation[1] * (this.kernelSize[1] - 1)];
    if (totals.every((t) => t % 2 === 0)) return conv2d(x, weight, bias, { ...options, padding: [totals[0] / 2, totals[1] / 2] });
    const [th, tw] = totals;
    const padded = pad(x, [Math.floor(tw / 2), tw - Math.floor(tw / 2), Math.floor(th / 2), th - Math.floor(th / 2)]);
    try {
      return conv2d(padded, weight, bias, options);
    } finally {
      padded.dispose();
    }
  }
}

export interface Conv1dOptions extends FactoryOptions {
  stride?: number;
  /** Zero padding per side, or 'valid' (none) or 'same' (output length = input length; stride 1 only). */
  padding?: number | 'valid' | 'same';
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** 1-D convolution as torch.nn.Conv1d: weight [out, in/groups, k], bias [out]; run as a Conv2d of height 1. */
export class Conv1d extends WeightBiasLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | 'same';
  readonly dilation: number;
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv1dOptions = {}) {
    super();
    this.inChannels = checkPositiveInt('Conv1d', 'inChannels', inChannels);
    this.outChannels = checkPositiveInt('Conv1d', 'outChannels', outChannels);
    this.kernelSize = checkPositiveInt('Conv1d', 'kernelSize', kernelSize);
    this.stride = checkPositiveInt('Conv1d', 'stride', options.stride ?? 1);
    this.dilation = checkPositiveInt('Conv1d', 'dilation', options.dilation ?? 1);
    this.groups = checkPositiveInt('Conv1d', 'groups', options.groups ?? 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new TorchError(`Conv1d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    const padding = options.padding ?? 0;
    if (padding === 'same' && this.stride !== 1) throw new TorchError("Conv1d: padding='same' is not supported for strided convolutions");
    if (padding !== 'same' && padding !== 'valid' && !(Number.isInteger(padding) && padding >= 0)) {
      throw new TorchError(`Conv1d: padding must be a non-negative integer, 'valid' or 'same', got ${JSON.stringify(padding)}`);
    }
    this.padding = padding === 'valid' ? 0 : padding;
    this.registerWeightAndBias([outChannels, inChannels / this.groups, this.kernelSize], options);
  }

  forward(x: Tensor): Tensor {
    // (N, in, L) -> (N, out, L'): the same kernel as conv2d over (N, in, 1, L) with a (1, k) weight
    const weight = this.value('weight').unsqueeze(2);
    const input = x.unsqueeze(2);
    const total = this.dilation * (this.kernelSize - 1);
    const samePadded = this.padding === 'same' && total % 2 === 1 ? pad(input, [Math.floor(total / 2), total - Math.floor(total / 2)]) : null;
    const padding = this.padding === 'same' ? (samePadded ? 0 : total / 2) : this.padding;
    try {
      const out = conv2d(samePadded ?? input, weight, this.valueOrNull('bias'), { stride: [1, this.stride], padding: [0, padding], dilation: [1, this.dilation], groups: this.groups });
      const squeezed = out.squeeze(2);
      out.dispose();
      return squeezed;
    } finally {
      weight.dispose();
      input.dispose();
      samePadded?.dispose();
    }
  }
}

type Triple = number | [number, number, number];

export interface Conv3dOptions extends FactoryOptions {
  stride?: Triple;
  /** Zero padding per side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Triple | 'valid' | 'same';
  dilation?: Triple;
  groups?: number;
  bias?: boolean;
}

/** 3-D convolution as torch.nn.Conv3d: weight [out, in/groups, kd, kh, kw], bias [out]; PyTorch's default init. */
export class Conv3d extends WeightBiasLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number, number];
  readonly stride: [number, number, number];
  readonly padding: [number, number, number] | 'same';
  readonly dilation: [number, number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Triple, options: Conv3dOptions = {}) {
    super();
    this.inChannels = checkPositiveInt('Conv3d', 'inChannels', inChannels);
    this.outChannels = checkPositiveInt('Conv3d', 'outChannels', outChannels);
    this.kernelSize = checkTriple('Conv3d', 'kernelSize', kernelSize, 1);
    this.stride = checkTriple('Conv3d', 'stride', options.stride ?? 1, 1);
    this.dilation = checkTriple('Conv3d', 'dilation', options.dilation ?? 1, 1);
    this.groups = checkPositiveInt('Conv3d', 'groups', options.groups ?? 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new TorchError(`Conv3d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    const padding = options.padding ?? 0;
    if (padding === 'same') {
      if (this.stride.some((s) => s !== 1)) throw new TorchError("Conv3d: padding='same' is not supported for strided convolutions");
      this.padding = 'same';
    } else {
      this.padding = padding === 'valid' ? [0, 0, 0] : checkTriple('Conv3d', 'padding', padding, 0);
    }
    this.registerWeightAndBias([outChannels, inChannels / this.groups, ...this.kernelSize], options);
  }

  forward(x: Tensor): Tensor {
    // (N, in, D, H, W) -> (N, out, D', H', W')
    const weight = this.value('weight');
    const bias = this.valueOrNull('bias');
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    if (this.padding !== 'same') return conv3d(x, weight, bias, { ...options, padding: this.padding });
    // As PyTorch: total padding d*(k-1) per dim; an odd total puts the extra plane/row/column after.
    const totals = this.kernelSize.map((k, i) => this.dilation[i] * (k - 1));
    if (totals.every((t) => t % 2 === 0)) return conv3d(x, weight, bias, { ...options, padding: [totals[0] / 2, totals[1] / 2, totals[2] / 2] });
    const padded = pad(x, [...totals].reverse().flatMap((t) => [Math.floor(t / 2), t - Math.floor(t / 2)]));
    try {
      return conv3d(padded, weight, bias, options);
    } finally {
      padded.dispose();
    }
  }
}
