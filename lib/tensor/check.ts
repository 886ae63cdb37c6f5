// Argument checks for ops: each names the argument (as "op: name"), what it expected and what it got.
import type { Handle } from '../binding.js';
import { TorchError } from '../errors.js';
import { describe, Tensor } from './tensor.js';

/** The handle of a Tensor argument. */
export function tensorArg(value: unknown, what: string): Handle {
  if (!(value instanceof Tensor)) throw new TorchError(`${what}: expected a Tensor, got ${describe(value)}`);
  return value.handle;
}

/** The handle of an optional Tensor argument (null/undefined pass as null). */
export function optTensorArg(value: unknown, what: string): Handle | null {
  return value === null || value === undefined ? null : tensorArg(value, what);
}

export function tensorsArg(values: unknown, what: string): Handle[] {
  if (!Array.isArray(values)) throw new TorchError(`${what}: expected an array of Tensors, got ${describe(values)}`);
  return values.map((v, i) => tensorArg(v, `${what}[${i}]`));
}

export function intArg(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TorchError(`${what}: expected an integer, got ${describe(value)}`);
  return value;
}

export function optIntArg(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : intArg(value, what);
}

export function intsArg(values: unknown, what: string): number[] {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
    throw new TorchError(`${what}: expected integers, got ${Array.isArray(values) ? JSON.stringify(values) : describe(values)}`);
  }
  return values as number[];
}

export function numberArg(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new TorchError(`${what}: expected a number, got ${describe(value)}`);
  return value;
}

export function optNumberArg(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : numberArg(value, what);
}
