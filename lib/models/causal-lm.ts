// What GPT-2 and Llama/Qwen2 share around their decoder stacks: reading the forward inputs (ids, cache, positions)
// and turning final hidden states into transformers' CausalLMOutput (logits_to_keep, loss, cache).
import { TorchError } from '../errors.js';
import { arange } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { additiveMask, checkAttentionMask } from './attention.js';
import type { CausalLMInputs, ModelInputs, ModelOutput, TensorModule } from './base.js';
import type { KVCache } from './kv-cache.js';
import { causalLmLoss } from './losses.js';

/** The checked input_ids of a decoder forward call and where they sit after the cached positions. */
export interface DecoderStep {
  ids: Tensor;
  batch: number;
  length: number;
  /** Positions already in the cache (0 without one). */
  past: number;
  cache: KVCache | null;
}

/** Checks input_ids (B, S) and the attention mask (B, past + S); `limit`, a config field, bounds past + S when given. */
export function decoderStep(inputs: ModelInputs, architecture: string, limit?: { field: string; value: number }): DecoderStep {
  const ids = inputs.input_ids;
  if (!ids || ids.ndim !== 2) {
    throw new TorchError(`${architecture}: input_ids must be an int64 tensor [batch, sequence], got ${ids ? `shape [${ids.shape.join(', ')}]` : 'nothing'}`);
  }
  const [batch, length] = ids.shape;
  const cache = inputs.past_key_values ?? null;
  const past = cache?.length ?? 0;
  if (limit && past + length > limit.value) throw new TorchError(`${architecture}: ${past + length} positions exceed ${limit.field} (${limit.value})`);
  if (inputs.attention_mask) checkAttentionMask(inputs.attention_mask, batch, past + length);
  return { ids, batch, length, past, cache };
}

/** position_ids, or past..past+S-1 (1, S) when the inputs give none. */
export function positionIds(inputs: ModelInputs, step: DecoderStep): Tensor {
  return inputs.position_ids ?? arange(step.past, step.past + step.length, 1, { device: step.ids.device }).unsqueeze(0);
}

/**
 * The additive causal mask (with padding from attention_mask) for this step's queries over past + new keys; with
 * slidingWindow W a query sees only the last W keys up to itself (the cache keeps every key, the mask hides the old).
 */
export function causalMask(inputs: ModelInputs, step: DecoderStep, dtype: Tensor['dtype'], slidingWindow: number | null = null): Tensor | null {
  return additiveMask({ queryLength: step.length, keyLength: step.past + step.length, causal: true, attentionMask: inputs.attention_mask, slidingWindow, dtype });
}

/**
 * Final hidden states (B, S, H) → logits (B, S', vocab) through lm_head (soft-capped as cap·tanh(logits/cap) when
 * a softcap is given), the loss when labels are given, the cache.
 */
export function causalLmOutput(hidden: Tensor, lmHead: TensorModule, inputs: CausalLMInputs, options: { softcap?: number | null } = {}): ModelOutput {
  const keep = inputs.logits_to_keep ?? 0;
  let logits = lmHead.forward(keep > 0 ? hidden.slice(1, -keep) : hidden);
  const cap = options.softcap ?? null;
  if (cap !== null) logits = logits.div(cap).tanh().mul(cap);
  const out: ModelOutput = { logits };
  if (inputs.labels) out.loss = causalLmLoss(logits, inputs.labels);
  if (inputs.past_key_values) out.past_key_values = inputs.past_key_values;
  return out;
}
