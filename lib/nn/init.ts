// Initialisers as torch.nn.init: in place, without recording autograd, same RNG calls in the same order.
import { TorchError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { truncNormal_ as fillTruncNormal } from '../tensor/trunc-normal.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
export type FanMode = 'fan_in' | 'fan_out';

/** [fanIn, fanOut] as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new TorchError(`fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape [${t.shape.join(', ')}])`);
  }
  const receptiveField = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptiveField, t.shape[0] * receptiveField];
}

/** The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    default:
      throw new TorchError(`calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

export function uniform_(t: Tensor, from = 0, to = 1): Tensor {
  return noGrad(() => t.uniform_(from, to));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

/** torch.nn.init.trunc_normal_: N(mean, std) truncated to [a, b]; the same draws as PyTorch after the same seed. */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  return fillTruncNormal(t, mean, std, a, b);
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fanIn, fanOut] = fanInAndFanOut(t);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  if (fan === 0) throw new TorchError(`kaiming init: the fan of a tensor with shape [${t.shape.join(', ')}] is 0`);
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

/** torch.nn.init.kaiming_uniform_ (the default init of Linear and Conv2d weights, with a = sqrt(5)). */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3.0) * kaimingStd(t, o);
  return uniform_(t, -bound, bound);
}

export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, o));
}

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fanInAndFanOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
}

/** The bias init of Linear/Conv2d: uniform in ±1/sqrt(fan_in) of the weight (0 when fan_in is 0). */
export function biasUniform_(bias: Tensor, weight: Tensor): Tensor {
  const [fanIn] = fanInAndFanOut(weight);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform_(bias, -bound, bound);
}
