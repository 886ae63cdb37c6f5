// Attention masks and the attention kernel shared by every model. Masks are additive (0 = attend, the dtype's
// most negative finite value = blocked), as transformers builds them for eager attention, so a row with
// nothing to attend to (a left-padding query) gives a uniform softmax rather than NaN.
import { TorchError } from '../errors.js';
import { full, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { dropout, scaledDotProductAttention, softmax } from '../tensor/functional.js';
import { where } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

const LOWEST: Partial<Record<DType, number>> = {
  float32: -3.4028234663852886e38,
  float64: -Number.MAX_VALUE,
  float16: -65504,
  bfloat16: -3.3895313892515355e38,
};

export function lowest(dtype: DType): number {
  const v = LOWEST[dtype];
  if (v === undefined) throw new TorchError(`attention: expected a floating dtype for the mask, got ${dtype}`);
  return v;
}

/** Checks attention_mask is [batch, keyLength] with 0/1 entries' dtype (int or bool). */
export function checkAttentionMask(mask: Tensor, batch: number, keyLength: number): void {
  if (mask.ndim !== 2 || mask.shape[0] !== batch || mask.shape[1] !== keyLength) {
    throw new TorchError(`attention_mask: expected shape [${batch}, ${keyLength}], got [${mask.shape.join(', ')}]`);
  }
}

/**
 * The additive mask [batch|1, 1, queryLength, keyLength] for queries at positions past..past+queryLength-1:
 * causal (a query sees keys up to its own position; with slidingWindow W only the last W of them, itself
 * included, as transformers' sliding_window_overlay) and/or padding (attention_mask [batch, keyLength],
 * 1 = token, 0 = padding). Returns null when attend(..., { causal }) needs no explicit mask.
 */
export function additiveMask(options: {
  queryLength: number;
  keyLength: number;
  causal: boolean;
  attentionMask?: Tensor | null;
  slidingWindow?: number | null;
  dtype: DType;
}): Tensor | null {
  const { queryLength, keyLength, causal, dtype } = options;
  const padding = options.attentionMask ?? null;
  const past = keyLength - queryLength;
  const window = options.slidingWindow ?? null;
  const windowed = causal && window !== null && keyLength > window;
  // Without padding, a causal mask is implicit when nothing is cached (attend() uses SDPA's causal kernel)
  // and empty for a single query.
  if (padding === null && !windowed && (!causal || past === 0 || queryLength === 1)) return null;
  return scope(() => {
    let allowed: Tensor | null = null;
    if (causal && (queryLength > 1 || past < 0 || windowed)) {
      // key j is visible to query i when j <= past + i (and, windowed, j > past + i - window)
      const ones = full([queryLength, keyLength], true, { dtype: 'bool' });
      const causalBand = windowed ? ones.tril(past).triu(past - (window as number) + 1) : ones.tril(past);
      allowed = causalBand.view(1, 1, queryLength, keyLength);
    }
    if (padding !== null) {
      const keep = padding.ne(0).view(padding.shape[0], 1, 1, keyLength);
      allowed = allowed === null ? keep : allowed.logicalAnd(keep);
    }
    if (allowed === null) return null;
    const zero = zeros([], { dtype });
    return where(allowed, zero, lowest(dtype));
  });
}

export interface AttendOptions {
  mask: Tensor | null;
  /** Causal with no other mask and queries == keys: lets SDPA use its causal kernel. */
  causal?: boolean;
  scale: number;
  dropout?: number;
  training?: boolean;
  /** cap·tanh(scores/cap) before the mask (Gemma 2); computed eagerly, as transformers' eager attention. */
  softcap?: number | null;
}

/** softmax(q kᵀ · scale + mask) v over heads; q (B, nh, Sq, hd), k/v (B, nkv, Sk, hd) with nh a multiple of nkv. */
export function attend(q: Tensor, k: Tensor, v: Tensor, o: AttendOptions): Tensor {
  const groups = q.shape[1] / k.shape[1];
  const dropoutP = o.training ? (o.dropout ?? 0) : 0;
  if (o.softcap !== undefined && o.softcap !== null) return softcappedAttention(q, k, v, { ...o, softcap: o.softcap }, groups, dropoutP);
  const isCausal = o.mask === null && (o.causal ?? false) && q.shape[2] === k.shape[2] && q.shape[2] > 1;
  return scaledDotProductAttention(q, k, v, {
    attnMask: o.mask,
    isCausal,
    scale: o.scale,
    dropoutP,
    enableGqa: groups > 1,
  });
}

/** Each of k/v's heads repeated for the groups of query heads that share it: (B, nkv, S, hd) → (B, nkv·groups, S, hd). */
function repeatKv(x: Tensor, groups: number): Tensor {
  if (groups === 1) return x;
  const [b, heads, s, d] = x.shape;
  return x.unsqueeze(2).expand(b, heads, groups, s, d).reshape(b, heads * groups, s, d);
}

/** The plain causal mask (1, 1, queries, keys) that SDPA's causal kernel applies implicitly. */
function causalOnly(queries: number, keys: number, dtype: DType): Tensor {
  const allowed = full([queries, keys], true, { dtype: 'bool' }).tril(keys - queries);
  return where(allowed, zeros([], { dtype }), lowest(dtype)).view(1, 1, queries, keys);
}

/** transformers' eager attention with soft-capped scores: softmax in float32, cast back to q's dtype. */
function softcappedAttention(q: Tensor, k: Tensor, v: Tensor, o: AttendOptions & { softcap: number }, groups: number, dropoutP: number): Tensor {
  return scope(() => {
    const [queries, keys] = [q.shape[2], k.shape[2]];
    let scores = q.matmul(repeatKv(k, groups).transpose(2, 3)).mul(o.scale);
    scores = scores.div(o.softcap).tanh().mul(o.softcap);
    const mask = o.mask ?? (o.causal && queries > 1 ? causalOnly(queries, keys, q.dtype) : null);
    if (mask) scores = scores.add(mask);
    let weights = softmax(scores, -1, 'float32').to(q.dtype);
    if (dropoutP > 0) weights = dropout(weights, dropoutP, true);
    return weights.matmul(repeatKv(v, groups));
  });
}
