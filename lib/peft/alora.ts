// aLoRA (Activated LoRA, PEFT's `alora_invocation_tokens`): the adapter acts only from the last occurrence of its
// invocation token sequence on. As PEFT, each row gets an offset (tokens from the invocation's start to the end of
// the row, null when the sequence is absent) and a Linear LoRA layer adds its term on the last `offset` positions.
// PeftModel.forward computes the offsets and sets them for the call, as mixed-batch.ts does for adapter_names.
import { PeftError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** One offset per batch row (null: the adapter stays off in that row). */
export type AloraOffsets = readonly (number | null)[];

let current: AloraOffsets | null = null;

/** Runs fn with these offsets in effect (restored afterwards, also on error). */
export function withAloraOffsets<T>(offsets: AloraOffsets | null, fn: () => T): T {
  const previous = current;
  current = offsets;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

export function checkAloraOffsets(value: unknown, batch: number): AloraOffsets {
  if (!Array.isArray(value) || value.length !== batch || !value.every((o) => o === null || (Number.isInteger(o) && o >= 0))) {
    throw new PeftError(`alora_offsets: expected one non-negative integer or null per batch row (${batch} rows), got ${JSON.stringify(value)}`);
  }
  return value as AloraOffsets;
}

/**
 * PEFT's calculate_alora_offsets: for each row, the adapter of that row (else the active one); when it has invocation
 * tokens, the offset of their last occurrence's start counted from the row's end; otherwise null.
 */
export function aloraOffsetsFor(inputIds: Tensor, rowAdapter: (row: number) => string, invocationTokens: (adapter: string) => number[] | null): (number | null)[] {
  if (inputIds.ndim !== 2) throw new PeftError(`aLoRA: input_ids must be [batch, sequence], got shape [${inputIds.shape.join(', ')}]`);
  const [batch, length] = inputIds.shape;
  const ids = Array.from(inputIds.toArray(), Number);
  const offsets: (number | null)[] = [];
  for (let row = 0; row < batch; row++) {
    const tokens = invocationTokens(rowAdapter(row));
    if (!tokens || tokens.length === 0) {
      offsets.push(null);
      continue;
    }
    const sequence = ids.slice(row * length, (row + 1) * length);
    let start = -1;
    for (let i = 0; i + tokens.length <= length; i++) if (tokens.every((t, k) => sequence[i + k] === t)) start = i;
    offsets.push(start >= 0 ? length - start : null);
  }
  return offsets;
}

/**
 * The positions an aLoRA term applies to, for a layer output of shape [batch, tokens, out] (or [batch, out]: one
 * token): the last min(offset, tokens) positions of each row; none without offsets. rows: the batch rows the output
 * holds (a mixed batch's group), default all. A float mask shaped to broadcast over the output.
 */
export function aloraMask(output: Tensor, rows: readonly number[] | null = null): Tensor {
  const batch = output.shape[0];
  const tokens = output.ndim >= 3 ? output.shape[1] : 1;
  const offsets = current;
  if (offsets !== null && rows === null && offsets.length !== batch) {
    throw new PeftError(`aLoRA: ${offsets.length} offsets for a batch of ${batch} rows`);
  }
  const values = new Float32Array(batch * tokens);
  for (let b = 0; b < batch; b++) {
    const offset = offsets === null ? 0 : Math.min(offsets[rows === null ? b : rows[b]] ?? 0, tokens);
    for (let t = tokens - offset; t < tokens; t++) values[b * tokens + t] = 1;
  }
  const shape = output.ndim >= 3 ? [batch, tokens, 1] : [batch, 1];
  return tensor(values, { dtype: 'float32', device: output.device, shape });
}

/** Offsets found for a prompt, kept for the forwards that continue its KV cache (generation after the prefill). */
const promptOffsets = new WeakMap<object, AloraOffsets | null>();

export interface AloraForwardContext {
  invocationTokens: (adapter: string) => number[] | null;
  /** PEFT's active_adapter (the first active one). */
  activeAdapter: string;
  adapterNames?: readonly string[];
  inputs: Record<string, unknown>;
  /** alora_offsets given by the caller (PEFT's forward argument). */
  given?: unknown;
  warn: (message: string) => void;
}

interface CacheLike {
  length: number;
}

const isCache = (value: unknown): value is CacheLike & object =>
  typeof value === 'object' && value !== null && typeof (value as { length?: unknown }).length === 'number';

/**
 * The offsets for one PeftModel forward, as PEFT's get_alora_offsets_for_forward: undefined when no row uses an
 * aLoRA adapter (the active one, or adapter_names); else the caller's alora_offsets, or offsets found in input_ids.
 * A forward continuing a KV cache reuses the offsets of the prompt that filled it (PEFT's generate passes them to
 * every step), so generated tokens after an invocation keep the adapter on.
 */
export function forwardAloraOffsets(context: AloraForwardContext): AloraOffsets | null | undefined {
  const { invocationTokens, activeAdapter, adapterNames, inputs, warn } = context;
  const relevant = invocationTokens(activeAdapter) !== null || (adapterNames ?? []).some((name) => invocationTokens(name) !== null);
  if (!relevant) return undefined;
  const ids = inputs.input_ids as Tensor | undefined;
  const cache = inputs.past_key_values;
  if (context.given !== undefined && context.given !== null) return checkAloraOffsets(context.given, ids?.shape[0] ?? (context.given as unknown[]).length);
  if (!ids) {
    warn('Cannot calculate aLoRA offsets when only inputs_embeds are provided. Disabling aLoRA for this forward pass.');
    return null;
  }
  if (isCache(cache) && cache.length > 0) {
    const kept = promptOffsets.get(cache);
    if (kept === undefined) {
      throw new PeftError('aLoRA: this forward continues a KV cache whose prompt did not go through this PeftModel; pass alora_offsets (one per row) for the prompt');
    }
    if (kept !== null && kept.length !== ids.shape[0]) throw new PeftError(`aLoRA: the KV cache's prompt had ${kept.length} rows, this forward has ${ids.shape[0]}`);
    return kept;
  }
  const offsets = aloraOffsetsFor(ids, (row) => adapterNames?.[row] ?? activeAdapter, invocationTokens);
  if (isCache(cache)) promptOffsets.set(cache, offsets);
  return offsets;
}
