// Mixed-adapter batches: PeftModel.forward({ adapter_names }) sets one adapter name per batch row for the
// duration of the call; LoRA layers and modules_to_save wrappers read it and route rows accordingly.
import { PeftError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** The name that means "no adapter" for a row. */
export const BASE_ROW = '__base__';

let current: readonly string[] | null = null;

/** Runs fn with adapter_names in effect (synchronous; restored afterwards, also on error). */
export function withAdapterNames<T>(adapterNames: readonly string[], fn: () => T): T {
  if (!Array.isArray(adapterNames) || adapterNames.some((n) => typeof n !== 'string')) {
    throw new PeftError(`adapter_names must be an array of strings (one per batch row), got ${JSON.stringify(adapterNames)}`);
  }
  const previous = current;
  current = adapterNames;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** The adapter name of each batch row during a mixed-batch forward, else null. */
export function currentAdapterNames(): readonly string[] | null {
  return current;
}

/** Row indices per distinct adapter name, in order of first appearance. */
export function rowsByAdapter(adapterNames: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  adapterNames.forEach((name, row) => {
    const rows = groups.get(name);
    if (rows) rows.push(row);
    else groups.set(name, [row]);
  });
  return groups;
}

/** The rows as an int64 index tensor on the given device. */
export function rowIndex(rows: number[], device: Tensor['device']): Tensor {
  return tensor(rows, { dtype: 'int64', device });
}

/** Throws unless the batch size of x matches the number of adapter names. */
export function checkBatch(x: Tensor, adapterNames: readonly string[], layer: string): void {
  if (x.shape[0] !== adapterNames.length) {
    throw new PeftError(`${layer}: adapter_names has ${adapterNames.length} entries but the batch has ${x.shape[0]} rows`);
  }
}
