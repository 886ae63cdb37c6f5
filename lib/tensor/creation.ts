// Creating tensors: from JS data, and the factory functions.
import { N } from '../binding.js';
import { TorchError } from '../errors.js';
import { intArg, numberArg, tensorArg } from './check.js';
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

function checkElementCount(shape: readonly number[], count: number): void {
  const wanted = shape.reduce((a, b) => a * b, 1);
  if (wanted !== count) {
    throw new TorchError(`tensor(): shape [${shape.join(', ')}] holds ${wanted} elements, but the data has ${count}`);
  }
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
    // A Uint16Array holds float16/bfloat16 bit patterns when that dtype is asked for; other arrays are converted.
    const halfBits = data instanceof Uint16Array && (dtype === 'float16' || dtype === 'bfloat16');
    const natural = halfBits ? (dtype as DType) : dtypeOfArray(data);
    const length = data.byteLength / (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    shape = options.shape ? checkShape(options.shape, 'tensor: shape') : [length];
    checkElementCount(shape, length);
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
    // JS cannot tell 2.0 from 2: a tensor that will require grad is floating however its numbers look.
    if (options.requiresGrad) dtype = 'float32';
    else if (flat.length > 0 && flat.every((v) => typeof v === 'boolean')) dtype = 'bool';
    else if (flat.length > 0 && flat.every((v) => Number.isInteger(v))) dtype = 'int64';
    else dtype = 'float32';
  }
  if (options.shape) {
    shape = checkShape(options.shape, 'tensor: shape');
    checkElementCount(shape, flat.length);
  }
  const staged = dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : dtype;
  let t = new Tensor(N.fromBytes(arrayFromNumbers(flat, staged), staged, shape));
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
  return new Tensor(N.fromBytes(bytes, checkDtype(dtype), checkShape(shape, 'fromBytes: shape')));
}

type Factory = (shape: readonly number[], options?: TensorOptions) => Tensor;

function factory(name: string): Factory {
  return (shape, options = {}) =>
    finish(new Tensor(N[name](checkShape(shape, `${name}: shape`), dtypeOf(options), deviceOf(options))), options);
}

export const empty = factory('empty');
export const zeros = factory('zeros');
export const ones = factory('ones');
export const randn = factory('randn');
export const rand = factory('rand');

export function full(shape: readonly number[], value: number | boolean, options: TensorOptions = {}): Tensor {
  if (typeof value !== 'boolean') numberArg(value, 'full: value');
  // A boolean fills a bool tensor, as in Python; a JS number fills float32 (JS has no int/float distinction).
  const dtype = dtypeOf(options) ?? (typeof value === 'boolean' ? 'bool' : null);
  return finish(new Tensor(N.full(checkShape(shape, 'full: shape'), value, dtype, deviceOf(options))), options);
}

export function randint(low: number, high: number, shape: readonly number[], options: TensorOptions = {}): Tensor {
  return new Tensor(N.randint(intArg(low, 'randint: low'), intArg(high, 'randint: high'), checkShape(shape, 'randint: shape'), dtypeOf(options), deviceOf(options)));
}

export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return new Tensor(N.randperm(intArg(n, 'randperm: n'), dtypeOf(options), deviceOf(options)));
}

/** arange(end) or arange(start, end, step); integer arguments give int64, like Python. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  numberArg(start, 'arange: start');
  numberArg(end, 'arange: end');
  if (numberArg(step, 'arange: step') === 0) throw new TorchError('arange: step must be non-zero');
  return finish(new Tensor(N.arange(start, end, step, dtypeOf(options), deviceOf(options))), options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.linspace(numberArg(start, 'linspace: start'), numberArg(end, 'linspace: end'), intArg(steps, 'linspace: steps'), dtypeOf(options), deviceOf(options))), options);
}

export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.eye(intArg(n, 'eye: n'), intArg(m, 'eye: m'), dtypeOf(options), deviceOf(options))), options);
}

export function scalarTensor(value: number | boolean, options: TensorOptions = {}): Tensor {
  return finish(new Tensor(N.scalarTensor(value, dtypeOf(options), deviceOf(options))), options);
}

export const emptyLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.emptyLike(tensorArg(t, 'emptyLike: t'), dtypeOf(options)));
export const zerosLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.zerosLike(tensorArg(t, 'zerosLike: t'), dtypeOf(options)));
export const onesLike = (t: Tensor, options: TensorOptions = {}): Tensor => new Tensor(N.onesLike(tensorArg(t, 'onesLike: t'), dtypeOf(options)));
export const fullLike = (t: Tensor, value: number, options: TensorOptions = {}): Tensor =>
  new Tensor(N.fullLike(tensorArg(t, 'fullLike: t'), numberArg(value, 'fullLike: value'), dtypeOf(options)));
export const randnLike = (t: Tensor): Tensor => new Tensor(N.randnLike(tensorArg(t, 'randnLike: t')));
export const randLike = (t: Tensor): Tensor => new Tensor(N.randLike(tensorArg(t, 'randLike: t')));
