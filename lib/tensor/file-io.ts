// Typed wrappers over the native file I/O: tensors read from (and written to) files without passing
// through JS buffers, and the memory range a tensor's elements occupy (for aliasing checks).
import { N, type Handle } from '../binding.js';
import { BYTES_PER_ELEMENT, checkDtype, type DType } from './dtype.js';
import { Tensor } from './tensor.js';

/** Where one tensor's bytes lie in a file (relative to dataStart), and what they hold. */
export interface FileTensorSpec {
  begin: number;
  dtype: DType;
  shape: readonly number[];
}

function nativeSpecs(specs: readonly FileTensorSpec[]): [number, DType, number[]][] {
  return specs.map((s) => [s.begin, checkDtype(s.dtype), [...s.shape]]);
}

/** New CPU tensors filled with pread from `path` at dataStart + begin (blocks the thread). */
export function readTensorsFromFileSync(path: string, dataStart: number, specs: readonly FileTensorSpec[]): Tensor[] {
  const handles = N.readTensors(path, dataStart, nativeSpecs(specs)) as Handle[];
  return handles.map((h) => new Tensor(h));
}

/** As readTensorsFromFileSync, on the libuv thread pool. */
export async function readTensorsFromFile(path: string, dataStart: number, specs: readonly FileTensorSpec[]): Promise<Tensor[]> {
  const handles = (await N.readTensorsAsync(path, dataStart, nativeSpecs(specs))) as Handle[];
  return handles.map((h) => new Tensor(h));
}

/** Writes each tensor's elements (row-major, little-endian) back to back into the open file `fd`
 *  from byte `offset`; returns the offset after the last byte. Tensors on other devices are copied to CPU. */
export function writeTensorsToFileSync(fd: number, offset: number, tensors: readonly Tensor[]): number {
  return N.writeTensors(fd, offset, tensors.map((t) => t.handle)) as number;
}

/** As writeTensorsToFileSync, on the libuv thread pool. Do not change the tensors until it settles. */
export async function writeTensorsToFile(fd: number, offset: number, tensors: readonly Tensor[]): Promise<number> {
  return (await N.writeTensorsAsync(fd, offset, tensors.map((t) => t.handle))) as number;
}

/** The device and the address range [start, end) that a tensor's elements span (end === start when empty). */
export interface MemoryRange {
  device: string;
  start: number;
  end: number;
}

export function memoryRange(t: Tensor): MemoryRange {
  const start = N.dataPtr(t.handle) as number;
  const device = t.device;
  if (t.numel() === 0) return { device, start, end: start };
  const strides = N.strides(t.handle) as number[];
  const lastElement = t.shape.reduce((sum, size, d) => sum + (size - 1) * strides[d], 0);
  return { device, start, end: start + (lastElement + 1) * BYTES_PER_ELEMENT[t.dtype] };
}
