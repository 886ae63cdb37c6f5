// Parameter: a leaf tensor that a Module owns (requires grad by default, outlives scopes).
import { N } from '../binding.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export class Parameter extends Tensor {
  /** A parameter sharing data's memory (as a new autograd leaf); data itself stays the caller's to dispose. */
  constructor(data: Tensor, requiresGrad = true) {
    super(N.detach(data.handle));
    keep(this);
    if (requiresGrad) this.requiresGrad_(true);
  }
}
