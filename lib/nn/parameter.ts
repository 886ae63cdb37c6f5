// Parameter: a leaf tensor that a Module owns (requires grad by default, outlives scopes).
import { empty } from '../tensor/creation.js';
import type { Device, DType } from '../tensor/dtype.js';
import { keep } from '../tensor/scope.js';
import { detachedHandle, Tensor } from '../tensor/tensor.js';

export class Parameter extends Tensor {
  /** A parameter sharing data's memory (as a new autograd leaf); data itself stays the caller's to dispose. */
  constructor(data: Tensor, requiresGrad = true) {
    super(detachedHandle(data));
    keep(this);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

/** dtype and device of a layer's parameters, as PyTorch's factory_kwargs. */
export interface FactoryOptions {
  dtype?: DType;
  device?: Device;
}

/** A new uninitialised parameter (torch.empty) of the given shape; layers initialise it in place. */
export function emptyParameter(shape: readonly number[], options: FactoryOptions = {}): Parameter {
  const data = empty(shape, { dtype: options.dtype, device: options.device });
  const parameter = new Parameter(data);
  data.dispose();
  return parameter;
}
