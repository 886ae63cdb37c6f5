// Grad mode: noGrad(fn) and enableGrad(fn) switch autograd recording for the duration of fn.
import { N } from '../binding.js';

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = N.gradEnabled() as boolean;
  N.setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    N.setGradEnabled(previous);
  }
}

export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  return N.gradEnabled() as boolean;
}
