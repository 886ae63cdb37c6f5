// Token generation for causal LMs, as transformers' generate: batched prefill of left-padded prompts, then one
// token per step with a KV cache; greedy or sampled (sampling.ts); a row stops at an end token, when its caller
// stops it (stop strings), or at maxNewTokens. generateSteps is the loop; generate collects it into a tensor.
// Text in and out (prompts, chat messages, streaming) is text-generation.ts.
import { TorchError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { full, ones, tensor } from '../tensor/creation.js';
import { cat } from '../tensor/ops-shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CausalLMInputs, ModelOutput } from './base.js';
import { KVCache } from './kv-cache.js';
import { chooseTokens, processLogits, resolveSampling, type Sampling, type SamplingOptions, seededRandom } from './sampling.js';

/** A causal LM, bare or wrapped by a PeftModel. */
export interface CausalLM {
  forward(inputs: CausalLMInputs & Record<string, unknown>): ModelOutput;
  eval(): unknown;
  train?(mode?: boolean): unknown;
  training: boolean;
}

export interface GenerationOptions extends SamplingOptions {
  /** Tokens to add at most per row (default 20). */
  maxNewTokens?: number;
  /** A row stops after producing one of these tokens (transformers treats a list as a set). */
  eosTokenId?: number | readonly number[] | null;
  /** Fills a row after it stopped (default: the first end token, else 0). */
  padTokenId?: number | null;
  /** Reuse keys/values of earlier positions (default true); false recomputes the whole sequence each step. */
  useCache?: boolean;
  /** A PeftModel's adapter per batch row (PEFT's `adapter_names`; '__base__' = no adapter): a mixed-adapter batch. */
  adapterNames?: readonly string[];
}

export interface ResolvedGeneration {
  maxNewTokens: number;
  readonly eos: ReadonlySet<number>;
  readonly pad: number;
  readonly useCache: boolean;
  readonly sampling: Sampling;
  readonly adapterNames: readonly string[] | null;
}

export function resolveGeneration(o: GenerationOptions, where = 'generate'): ResolvedGeneration {
  const maxNewTokens = o.maxNewTokens ?? 20;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new TorchError(`${where}: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  const eos = o.eosTokenId === undefined || o.eosTokenId === null ? [] : [o.eosTokenId].flat();
  for (const id of eos) if (!Number.isInteger(id) || id < 0) throw new TorchError(`${where}: eosTokenId must hold token ids (integers >= 0), got ${JSON.stringify(o.eosTokenId)}`);
  const pad = o.padTokenId ?? eos[0] ?? 0;
  if (!Number.isInteger(pad) || pad < 0) throw new TorchError(`${where}: padTokenId must be a token id (an integer >= 0), got ${pad}`);
  const adapterNames = o.adapterNames ?? null;
  if (adapterNames !== null && (!Array.isArray(adapterNames) || adapterNames.some((n) => typeof n !== 'string'))) {
    throw new TorchError(`${where}: adapterNames must be a list of adapter names (one per batch row), got ${JSON.stringify(adapterNames)}`);
  }
  return { maxNewTokens, eos: new Set(eos), pad, useCache: o.useCache ?? true, sampling: resolveSampling(o, where), adapterNames };
}

/** One decoding step: the token each row got (pad for rows that had stopped) and which rows have stopped. */
export interface GenerationStep {
  tokens: number[];
  /** Live: set finished[row] = true to stop a row (e.g. at a stop string); the loop ends when all have. */
  readonly finished: boolean[];
}

/**
 * The decoding loop over prompts input_ids (B, S; left-padded where attention_mask is 0): yields each step's
 * tokens. Disposes what it makes, also when the caller stops iterating early.
 */
export function* generateSteps(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions | ResolvedGeneration = {}): Generator<GenerationStep, void, void> {
  const o = 'sampling' in options ? options : resolveGeneration(options);
  const prompt = inputs.input_ids;
  if (!prompt || prompt.ndim !== 2) throw new TorchError(`generate: input_ids must be an int64 tensor [batch, sequence], got ${prompt ? `shape [${prompt.shape.join(', ')}]` : 'nothing'}`);
  const [batch, promptLength] = prompt.shape;
  if (promptLength === 0) throw new TorchError('generate: input_ids must hold at least one token per row');
  if (o.adapterNames !== null && o.adapterNames.length !== batch) {
    throw new TorchError(`generate: adapterNames has ${o.adapterNames.length} names for a batch of ${batch} rows`);
  }
  const perRow = o.adapterNames !== null ? { adapter_names: [...o.adapterNames] } : {};
  const random = seededRandom(o.sampling.seed);
  const wasTraining = model.training;
  model.eval();
  const cache = o.useCache ? new KVCache() : null;
  // positions count real tokens only, so left padding does not shift them (transformers does the same)
  let state = noGrad(() => scope(() => {
    const mask = inputs.attention_mask ? inputs.attention_mask.long() : ones([batch, promptLength], { dtype: 'int64', device: prompt.device });
    return { ids: prompt.long(), mask, positions: mask.cumsum(1).sub(1).maskedFill(mask.eq(0), 1) };
  }));
  const finished = new Array<boolean>(batch).fill(false);
  try {
    for (let step = 0; step < o.maxNewTokens && !finished.every(Boolean); step++) {
      const chosen = noGrad(() => scope(() => {
        const onlyLast = cache !== null && step > 0; // earlier positions are in the cache
        const { logits } = model.forward({
          input_ids: onlyLast ? state.ids.slice(1, -1) : state.ids,
          position_ids: onlyLast ? state.positions.slice(1, -1) : state.positions,
          attention_mask: state.mask,
          past_key_values: cache,
          logits_to_keep: 1,
          ...perRow,
        });
        const scores = processLogits(logits.select(1, logits.shape[1] - 1), state.ids, o.sampling);
        return chooseTokens(scores, o.sampling, random);
      })).map((token, row) => (finished[row] ? o.pad : token));
      chosen.forEach((token, row) => {
        if (o.eos.has(token)) finished[row] = true;
      });
      const grown = noGrad(() => scope(() => ({
        ids: cat([state.ids, tensor(chosen, { dtype: 'int64', device: prompt.device }).view(batch, 1)], 1),
        mask: cat([state.mask, full([batch, 1], 1, { dtype: 'int64', device: prompt.device })], 1),
        positions: cat([state.positions, state.positions.slice(1, -1).add(1)], 1),
      })));
      for (const t of Object.values(state)) t.dispose();
      state = grown;
      yield { tokens: chosen, finished };
    }
  } finally {
    for (const t of Object.values(state)) t.dispose();
    cache?.dispose();
    if (wasTraining) model.train?.();
  }
}

/**
 * Continues each prompt row of input_ids (B, S; left-padded where attention_mask is 0) and returns the prompts
 * followed by the new tokens (B, S + n); rows that stopped early are filled with padTokenId.
 * @example const out = models.generate(model, { input_ids }, { maxNewTokens: 16, eosTokenId: 2 });
 */
export function generateIds(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions = {}): Tensor {
  const rows: number[][] = Array.from({ length: inputs.input_ids?.shape[0] ?? 0 }, () => []);
  for (const { tokens } of generateSteps(model, inputs, options)) tokens.forEach((token, row) => rows[row].push(token));
  if (rows.length === 0 || rows[0].length === 0) return inputs.input_ids.long();
  return scope(() => cat([inputs.input_ids.long(), tensor(rows, { dtype: 'int64', device: inputs.input_ids.device })], 1));
}
