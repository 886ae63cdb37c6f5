// Creating tensors: from JS data, and the factory functions.
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import { arrayFromNumbers, checkDevice, checkDtype, type Device, type DType, dtypeOfArray } from './dtype.js';
import { type NestedNumbers, Tensor } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

function dtypeOf(options: TensorOptions): DType | null {
  return options.dtype === undefined ? null : checkDtype(options.dtype);
}

function deviceOf(options: TensorOptions): Device | null {
  return options.device === undefined ? null : checkDevice(options.device);
}

export function checkShape(shape: readonly number[], what = 'shape'): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TorchError(`${what}: expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean') {
      throw new TorchError(`tensor(): expected a number at depth ${depth}, got ${Array.isArray(data) ? 'an array' : typeof data}`);
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TorchError(`tensor(): ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const item of data) flatten(item, shape, depth + 1, out);
}

/** A tensor from bytes (copied), a typed array, or nested arrays of numbers/booleans. */
export function tensor(
  data: NestedNumbers | ArrayBufferView,
  options: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  let dtype = dtypeOf(options);
  let bytes: ArrayBufferView;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    const natural = dtype === 'float16' || dtype === 'bfloat16' ? dtype : dtypeOfArray(data);
    const length = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    shape = options.shape ? checkShape(options.shape) : [length];
    bytes = data;
    dtype ??= natural;
    let t = new Tensor(N.fromBytes(bytes, natural, shape));
    if (dtype !== natural) {
      const converted = new Tensor(N.to(t.handle, dtype));
      t.dispose();
      t = converted;
    }
    return finish(deviceOf(options) ? moveTo(t, deviceOf(options) as Device) : t, options);
  }
  shape = inferShape(data);
  const flat: (number | boolean)[] = [];
  flatten(data, shape, 0, flat);
  if (dtype === null) {
    if (flat.length > 0 && flat.every((v) => typeof v === 'boolean')) dtype = 'bool';
    else if (flat.length > 0 && flat.every((v) => Number.isInteger(v))) dtype = 'int64';
    else dtype = 'float32';
  }
  const staged = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  let t = new Tensor(N.fromBytes(arrayFromNumbers(flat, staged), staged, options.shape ? checkShape(options.shape) : shape));
  if (staged !== dtype) {
    const converted = new Tensor(N.to(t.handle, dtype));
    t.dispose();
    t = converted;
  }
  return finish(deviceOf(options) ? moveTo(t, deviceOf(options) as Device) : t, options);
}

function moveTo(t: Tensor, device: Device): Tensor {
  if (device === 'cpu') return t;
  const moved = new Tensor(N.to(t.handle, null, device));
  t.dispose();
  return moved;
}

/** A tensor from raw little-endian bytes of the given dtype and shape (copied). */
export function fromBytes(bytes: ArrayBufferView, dtype: DType, shape: readonly number[]): Tensor {
  return new Tensor(N.fromBytes(bytes, checkDtype(dtype), checkShape(shape)));
}

type Factory = (shape: readonly number[], options?: TensorOptions) => Tensor;

function factory(name: string): Factory {
  return (shape, options = {}) =>
    finish(new Tensor(N[name](checkShape(shape), dtypeOf(options), deviceOf(options))), options);
}

export const empty = factory('empty');
export const zeros = factory('zeros');
export const ones = factory('ones');
export const randn = factory('randn');
export const rand = factory('rand');

export function full(shape: readonly number[], value: number | boolean, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.full(checkShape(shape), value, dtypeOf(options), deviceOf(options))), options);
}

export function randint(low: number, high: number, shape: readonly number[], options: TensorOptions = {}): Tensor {
  return new Tensor(N.randint(low, high, checkShape(shape), dtypeOf(options), deviceOf(options)));
}

export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return new Tensor(N.randperm(n, dtypeOf(options), deviceOf(options)));
}

/** arange(end) or arange(start, end, step); integer arguments give int64, like Python. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new TorchError('arange: step must be non-zero');
  return finish(new Tensor(N.arange(start, end, step, dtypeOf(options), deviceOf(options))), options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.linspace(start, end, steps, dtypeOf(options), deviceOf(options))), options);
}

export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.eye(n, m, dtypeOf(options), deviceOf(options))), options);
}

export function scalarTensor(value: number | boolean, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.scalarTensor(value, dtypeOf(options), deviceOf(options))), options);
}

export const emptyLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.emptyLike(t.handle, dtypeOf(options)));
export const zerosLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.zerosLike(t.handle, dtypeOf(options)));
export const onesLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.onesLike(t.handle, dtypeOf(options)));
export const fullLike = (t: Tensor, value: number, options: TensorOptions = {}): Tensor =>
  new Tensor(N.fullLike(t.handle, value, dtypeOf(options)));
export const randnLike = (t: Tensor): Tensor => new Tensor(N.randnLike(t.handle));
export const randLike = (t: Tensor): Tensor => new Tensor(N.randLike(t.handle));
