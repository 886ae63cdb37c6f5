// Activation functions by the names config.json uses (transformers' ACT2FN).
import { TorchError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export type Activation = (x: Tensor) => Tensor;

const ACTIVATIONS: Record<string, Activation> = {
  gelu: (x) => x.gelu('none'),
  gelu_new: (x) => x.gelu('tanh'),
  gelu_pytorch_tanh: (x) => x.gelu('tanh'),
  gelu_fast: (x) => x.gelu('tanh'),
  relu: (x) => x.relu(),
  silu: (x) => x.silu(),
  swish: (x) => x.silu(),
  tanh: (x) => x.tanh(),
  sigmoid: (x) => x.sigmoid(),
};

/** The activation a config names (hidden_act / activation_function). */
export function activation(name: string, field = 'hidden_act'): Activation {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new TorchError(`${field}: expected one of ${Object.keys(ACTIVATIONS).join(', ')}, got ${JSON.stringify(name)}`);
  return fn;
}
