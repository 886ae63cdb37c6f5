// Dtypes and devices by name, and the typed arrays that hold each dtype's elements in JS.
import { TorchError } from '../errors.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';
export type Device = 'cpu' | `cuda` | `cuda:${number}`;
export type NumericArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function checkDtype(dtype: unknown, what = 'dtype'): DType {
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TorchError(`${what}: expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  return dtype as DType;
}

/** The dtypes a model's parameters can be held in (fromPretrained's dtype, Module.to). */
export const FLOAT_DTYPES: readonly DType[] = ['float32', 'bfloat16', 'float16', 'float64'];

/** A model dtype by name; anything else is an error naming the accepted ones. */
export function checkFloatDtype(dtype: unknown, what = 'dtype'): DType {
  if (typeof dtype !== 'string' || !(FLOAT_DTYPES as readonly string[]).includes(dtype)) {
    throw new TorchError(`${what}: expected one of ${FLOAT_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  return dtype as DType;
}

export function checkDevice(device: unknown): Device {
  if (typeof device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(device)) {
    throw new TorchError(`device: expected 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(device)}`);
  }
  return device as Device;
}

/** The dtype a typed array holds (float16/bfloat16 bit patterns come as Uint16Array and need an explicit dtype). */
export function dtypeOfArray(array: ArrayBufferView): DType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof BigInt64Array) return 'int64';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Int8Array) return 'int8';
  if (array instanceof Uint8Array) return 'uint8';
  throw new TorchError(`cannot infer a dtype from ${array.constructor.name}; pass { dtype }`);
}

/** A typed array of this dtype over the given bytes (bool as Uint8Array, float16/bfloat16 as Uint16Array). */
export function viewBytes(buffer: ArrayBuffer, dtype: DType): NumericArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'uint8':
    case 'bool': return new Uint8Array(buffer);
    case 'float16':
    case 'bfloat16': return new Uint16Array(buffer);
  }
}

/** A new typed array of this dtype holding JS numbers (float16/bfloat16 are staged as float32). */
export function arrayFromNumbers(values: ArrayLike<number | boolean | bigint>, dtype: DType): NumericArray {
  const n = values.length;
  switch (dtype) {
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(Math.trunc(Number(values[i])));
      return out;
    }
    case 'float64': return Float64Array.from(values as ArrayLike<number>, Number);
    case 'int32': return Int32Array.from(values as ArrayLike<number>, Number);
    case 'int16': return Int16Array.from(values as ArrayLike<number>, Number);
    case 'int8': return Int8Array.from(values as ArrayLike<number>, Number);
    case 'uint8': return Uint8Array.from(values as ArrayLike<number>, Number);
    case 'bool': return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    default: return Float32Array.from(values as ArrayLike<number>, Number);
  }
}
