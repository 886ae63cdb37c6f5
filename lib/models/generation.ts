// Text generation for causal LMs: batched prefill of left-padded prompts, then one token per step with a KV
// cache; greedy or sampled (temperature, top-k, top-p); stops at end tokens or max_new_tokens. Option names are
// those of transformers' GenerationConfig.
import { TorchError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { full, ones, tensor } from '../tensor/creation.js';
import { softmax } from '../tensor/functional.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CausalLMInputs, ModelOutput } from './base.js';
import { KVCache } from './kv-cache.js';

export interface CausalLM {
  forward(inputs: CausalLMInputs): ModelOutput;
  eval(): unknown;
  training: boolean;
}

export interface GenerationOptions {
  /** Tokens to add at most (default 20). */
  max_new_tokens?: number;
  /** Sample instead of taking the most likely token (default: true when temperature > 0 is given). */
  do_sample?: boolean;
  /** Divides the logits before sampling (default 1). */
  temperature?: number;
  /** Sample among the k most likely tokens only (0 = all). */
  top_k?: number;
  /** Sample among the most likely tokens whose probabilities sum to top_p (1 = all). */
  top_p?: number;
  /** A row stops after producing one of these tokens. */
  eos_token_id?: number | number[] | null;
  /** Fills the rows that have stopped (default: the first eos token, else 0). */
  pad_token_id?: number | null;
  /** Reuse keys/values of earlier positions (default true); false recomputes the whole sequence each step. */
  use_cache?: boolean;
}

function checkOptions(o: GenerationOptions): Required<Omit<GenerationOptions, 'eos_token_id' | 'pad_token_id'>> & { eos: number[]; pad: number } {
  const maxNew = o.max_new_tokens ?? 20;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new TorchError(`generate: max_new_tokens must be a non-negative integer, got ${maxNew}`);
  const temperature = o.temperature ?? 1;
  if (!(temperature >= 0)) throw new TorchError(`generate: temperature must be >= 0, got ${temperature}`);
  const topK = o.top_k ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new TorchError(`generate: top_k must be a non-negative integer, got ${topK}`);
  const topP = o.top_p ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new TorchError(`generate: top_p must be in (0, 1], got ${topP}`);
  const eos = o.eos_token_id === undefined || o.eos_token_id === null ? [] : [o.eos_token_id].flat();
  const doSample = o.do_sample ?? (o.temperature !== undefined && o.temperature > 0);
  return {
    max_new_tokens: maxNew, do_sample: doSample && temperature > 0, temperature, top_k: topK, top_p: topP,
    use_cache: o.use_cache ?? true, eos, pad: o.pad_token_id ?? eos[0] ?? 0,
  };
}

/** Next-token ids (B) from last-position logits (B, V). */
function pickTokens(logits: Tensor, o: ReturnType<typeof checkOptions>): Tensor {
  return scope(() => {
    if (!o.do_sample) return logits.argmax(-1);
    let scores = logits.to('float32').div(o.temperature);
    if (o.top_k > 0 && o.top_k < scores.shape[1]) {
      const [values] = scores.topk(o.top_k, -1);
      scores = scores.maskedFill(scores.lt(values.slice(1, -1)), -Infinity);
    }
    if (o.top_p < 1) {
      const [sorted, order] = scores.sort(-1, false); // ascending, as transformers' TopPLogitsWarper
      const removeSorted = softmax(sorted, -1).cumsum(-1).le(1 - o.top_p);
      removeSorted.select(1, sorted.shape[1] - 1).fill_(false); // always keep the most likely token
      scores = scores.maskedFill(removeSorted.scatter(1, order, removeSorted), -Infinity);
    }
    return softmax(scores, -1).multinomial(1).squeeze(1);
  });
}

/**
 * Continues each prompt row of input_ids (B, S; left-padded where attention_mask is 0) and returns the prompts
 * followed by the new tokens (B, S + n); rows that stopped early are filled with pad_token_id.
 * @example const out = generate(model, { input_ids }, { max_new_tokens: 16, eos_token_id: 2 });
 */
export function generate(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions = {}): Tensor {
  const o = checkOptions(options);
  const prompt = inputs.input_ids;
  if (!prompt || prompt.ndim !== 2) throw new TorchError(`generate: input_ids must be an int64 tensor [batch, sequence], got ${prompt ? `shape [${prompt.shape.join(', ')}]` : 'nothing'}`);
  const [batch, promptLength] = prompt.shape;
  if (promptLength === 0) throw new TorchError('generate: input_ids must hold at least one token per row');
  const wasTraining = model.training;
  model.eval();
  const cache = o.use_cache ? new KVCache() : null;
  try {
    return noGrad(() => {
      // positions count real tokens only, so left padding does not shift them (transformers does the same)
      let state = scope(() => {
        const mask = inputs.attention_mask ? inputs.attention_mask.long() : ones([batch, promptLength], { dtype: 'int64', device: prompt.device });
        return { ids: prompt.long(), mask, positions: mask.cumsum(1).sub(1).maskedFill(mask.eq(0), 1) };
      });
      const finished = new Array<boolean>(batch).fill(false);
      for (let step = 0; step < o.max_new_tokens && !finished.every(Boolean); step++) {
        const next = scope(() => {
          const onlyLast = cache !== null && step > 0; // earlier positions are in the cache
          const { logits } = model.forward({
            input_ids: onlyLast ? state.ids.slice(1, -1) : state.ids,
            position_ids: onlyLast ? state.positions.slice(1, -1) : state.positions,
            attention_mask: state.mask,
            past_key_values: cache,
            logits_to_keep: 1,
          });
          return pickTokens(logits.select(1, logits.shape[1] - 1), o);
        });
        const chosen = Array.from(next.toArray(), Number).map((token, row) => (finished[row] ? o.pad : token));
        next.dispose();
        chosen.forEach((token, row) => {
          if (o.eos.includes(token)) finished[row] = true;
        });
        const grown = scope(() => ({
          ids: cat([state.ids, tensor(chosen, { dtype: 'int64', device: prompt.device }).view(batch, 1)], 1),
          mask: cat([state.mask, full([batch, 1], 1, { dtype: 'int64', device: prompt.device })], 1),
          positions: cat([state.positions, state.positions.slice(1, -1).add(1)], 1),
        }));
        for (const t of Object.values(state)) t.dispose();
        state = grown;
      }
      state.mask.dispose();
      state.positions.dispose();
      return state.ids;
    });
  } finally {
    cache?.dispose();
    if (wasTraining) (model as unknown as { train(): unknown }).train();
  }
}
