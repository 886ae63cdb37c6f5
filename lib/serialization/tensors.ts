// Between tensors and the format: describing tensors for the writer (refusing ones that share
// memory, as the reference writer does) and choosing the tensor dtype for a header entry.
import { SafetensorsError } from '../errors.js';
import { memoryRange } from '../tensor/file-io.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { LOADABLE_DTYPES, safetensorsDtypeOf, tensorDtypeOf } from './dtypes.js';
import type { TensorInfo } from './header.js';
import type { TensorDescription } from './layout.js';

export type TensorMap = Record<string, Tensor>;

/** The named tensors as writer descriptions, in the object's order; checks each value is a live Tensor. */
export function describeTensors(tensors: TensorMap): { names: string[]; values: Tensor[]; descriptions: TensorDescription[] } {
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) {
    throw new SafetensorsError(`tensors: expected an object of named Tensors, got ${Array.isArray(tensors) ? 'an array' : tensors === null ? 'null' : typeof tensors}`);
  }
  const names = Object.keys(tensors);
  const values = names.map((name) => {
    const value: unknown = tensors[name];
    if (!(value instanceof Tensor)) throw new SafetensorsError(`tensors[${JSON.stringify(name)}]: expected a Tensor, got ${value === null ? 'null' : typeof value}`);
    if (value.disposed) throw new SafetensorsError(`tensors[${JSON.stringify(name)}]: the tensor was disposed`);
    return value;
  });
  checkNoSharedMemory(names, values);
  const descriptions = names.map((name, k) => ({ name, dtype: safetensorsDtypeOf(values[k].dtype), shape: values[k].shape }));
  return { names, values, descriptions };
}

/** Refuses tensors whose elements overlap in memory (the same tensor twice, or overlapping views). */
function checkNoSharedMemory(names: string[], values: Tensor[]): void {
  const ranges = values
    .map((t, k) => ({ name: names[k], ...memoryRange(t) }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.start - b.start));
  for (let k = 1; k < ranges.length; k++) {
    const [previous, current] = [ranges[k - 1], ranges[k]];
    if (previous.device === current.device && current.start < previous.end) {
      throw new SafetensorsError(
        `tensors ${JSON.stringify(previous.name)} and ${JSON.stringify(current.name)} share memory; ` +
          'safetensors stores each tensor separately, so save only one of them (or a clone of the other)',
      );
    }
    if (previous.device === current.device && previous.end > current.end) ranges[k] = previous;
  }
}

/** The node-peft dtype to load a header entry as; refuses dtypes node-peft has no tensors for. */
export function loadableDtype(info: TensorInfo, source: string): DType {
  const dtype = tensorDtypeOf(info.dtype);
  if (dtype === null) {
    throw new SafetensorsError(
      `${source}: tensor ${JSON.stringify(info.name)} has dtype ${info.dtype}, which node-peft cannot load (it loads ${LOADABLE_DTYPES.join(', ')})`,
    );
  }
  return dtype;
}
