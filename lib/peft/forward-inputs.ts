// Checks at PeftModel's public entry points, before any work: a clear PeftError naming the argument, what was
// expected and what was given (instead of a LibTorch message, a TypeError, or a silent cast).
import { PeftError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';

const ID_INPUTS = ['input_ids', 'token_type_ids', 'position_ids'];
const TENSOR_INPUTS = [...ID_INPUTS, 'attention_mask', 'labels', 'pixel_values', 'inputs_embeds'];
const INTEGER_DTYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value === null) return 'null';
  return typeof value === 'object' ? (value.constructor?.name ?? 'an object') : `${typeof value} ${JSON.stringify(value)}`;
}

function vocabSize(model: Module): number | null {
  const size = (model as Module & { config?: { vocab_size?: unknown } }).config?.vocab_size;
  return typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : null;
}

/** The device of the model's first parameter, found depth-first without listing them all (forward runs per token). */
function modelDevice(module: Module): Tensor['device'] | undefined {
  const own = module.parameters({ recurse: false })[0];
  if (own) return own.device;
  for (const child of module.children()) {
    const found = modelDevice(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The forward inputs: tensors alive, ids whole numbers within the vocabulary, images 4-D, all on the model's device. */
export function checkForwardInputs(model: Module, inputs: unknown): void {
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new PeftError(`forward: expected an object of named inputs ({ input_ids, attention_mask, pixel_values, ... }), got ${describe(inputs)}`);
  }
  const given = inputs as Record<string, unknown>;
  const device = modelDevice(model);
  for (const name of TENSOR_INPUTS) {
    const value = given[name];
    if (value === undefined || value === null) continue;
    if (!(value instanceof Tensor)) throw new PeftError(`forward: ${name}: expected a Tensor, got ${describe(value)}`);
    if (value.disposed) throw new PeftError(`forward: ${name}: the tensor was used after dispose()`);
    if (device !== undefined && value.device !== device) throw new PeftError(`forward: ${name} is on ${value.device}, the model on ${device}; move it with .to('${device}')`);
  }
  for (const name of ID_INPUTS) {
    const ids = given[name];
    if (!(ids instanceof Tensor)) continue;
    if (!INTEGER_DTYPES.has(ids.dtype)) throw new PeftError(`forward: ${name}: expected an integer tensor (int64), got ${ids.dtype}; convert with .to('int64')`);
  }
  const ids = given.input_ids;
  const vocab = vocabSize(model);
  if (ids instanceof Tensor && vocab !== null && ids.numel() > 0) {
    const [low, high] = noGrad(() => {
      const min = ids.min();
      const max = ids.max();
      const range = [min.item(), max.item()];
      min.dispose();
      max.dispose();
      return range;
    });
    if (low < 0 || high >= vocab) throw new PeftError(`forward: input_ids: ids must be in [0, ${vocab}) (the model's vocab_size), got ${low < 0 ? low : high}`);
  }
  const pixels = given.pixel_values;
  if (pixels instanceof Tensor && pixels.ndim !== 4) {
    throw new PeftError(`forward: pixel_values: expected [batch, channels, height, width], got shape [${pixels.shape.join(', ')}]`);
  }
  const adapterNames = given.adapter_names;
  if (adapterNames !== undefined) {
    if (!Array.isArray(adapterNames) || adapterNames.some((n) => typeof n !== 'string')) {
      throw new PeftError(`forward: adapter_names: expected an array of adapter names (one per batch row), got ${describe(adapterNames)}`);
    }
    const batch = [given.input_ids, given.pixel_values].find((t): t is Tensor => t instanceof Tensor)?.shape[0];
    if (batch !== undefined && adapterNames.length !== batch) {
      throw new PeftError(`forward: adapter_names has ${adapterNames.length} names for a batch of ${batch} rows`);
    }
  }
}

/** An adapter name argument of setAdapter / deleteAdapter / loadAdapter. */
export function checkAdapterArgument(method: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') throw new PeftError(`${method}: adapter name: expected a non-empty string, got ${describe(name)}`);
}

/** loadAdapter / fromPretrained arguments: a folder path and boolean options. */
export function checkLoadArguments(method: string, dir: unknown, options: Record<string, unknown>): asserts dir is string {
  if (typeof dir !== 'string' || dir === '') throw new PeftError(`${method}: dir: expected an adapter folder path, got ${describe(dir)}`);
  for (const flag of ['isTrainable', 'strict']) {
    const value = options[flag];
    if (value !== undefined && typeof value !== 'boolean') throw new PeftError(`${method}: options.${flag}: expected true or false, got ${describe(value)}`);
  }
}
