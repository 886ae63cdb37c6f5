// Token generation for causal LMs, as transformers' generate: batched prefill of left-padded prompts, then one
// token per step with a KV cache; greedy or sampled (sampling.ts); a row stops at an end token, when its caller
// stops it (stop strings), or at maxNewTokens. generateSteps is the loop; generate collects it into a tensor.
// Text in and out (prompts, chat messages, streaming) is text-generation.ts.
import { TorchError } from '../errors.js';
import { noGrad } from '../tensor/autograd.js';
import { empty, ones, tensor } from '../tensor/creation.js';
import '../tensor/ops-math.js'; // Tensor.copy_, maskedFill
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

/** The decoding buffers, allocated once: ids/mask/positions [B, prompt + maxNewTokens], each step's column written in place. */
interface DecodeState {
  ids: Tensor;
  mask: Tensor;
  positions: Tensor;
  /** Rows that had stopped, as a bool [B] (rebuilt only when that set changes). */
  stopped: Tensor | null;
  stoppedCount: number;
}

function decodeState(prompt: Tensor, attentionMask: Tensor | null | undefined, total: number): DecodeState {
  const [batch, promptLength] = prompt.shape;
  const device = prompt.device;
  return noGrad(() => {
    const made = scope(() => {
      const mask = attentionMask ? attentionMask.long() : ones([batch, promptLength], { dtype: 'int64', device });
      // positions count real tokens only, so left padding does not shift them (transformers does the same)
      const promptPositions = mask.cumsum(1).sub(1).maskedFill(mask.eq(0), 1);
      const ids = empty([batch, total], { dtype: 'int64', device });
      const fullMask = ones([batch, total], { dtype: 'int64', device });
      const positions = empty([batch, total], { dtype: 'int64', device });
      ids.narrow(1, 0, promptLength).copy_(prompt);
      fullMask.narrow(1, 0, promptLength).copy_(mask);
      positions.narrow(1, 0, promptLength).copy_(promptPositions);
      return { ids, mask: fullMask, positions };
    });
    return { ...made, stopped: null, stoppedCount: 0 };
  });
}

/** Writes the chosen tokens (int64 [B]; pad on stopped rows) at column `at` and the next positions after them. */
function appendTokens(state: DecodeState, chosen: Tensor, at: number, pad: number): Tensor {
  const [batch] = chosen.shape;
  const tokens = state.stopped ? chosen.maskedFill(state.stopped, pad) : chosen;
  state.ids.narrow(1, at, 1).copy_(tokens.view(batch, 1));
  state.positions.narrow(1, at, 1).copy_(state.positions.narrow(1, at - 1, 1).add(1));
  return tokens;
}

/** Marks the rows in `finished` (the caller's live flags) as stopped for the native writes. */
function syncStopped(state: DecodeState, finished: readonly boolean[], device: Tensor['device']): void {
  const count = finished.reduce((n, f) => n + (f ? 1 : 0), 0);
  if (count === state.stoppedCount) return;
  state.stopped?.dispose();
  state.stopped = tensor(finished.map((f) => (f ? 1 : 0)), { dtype: 'bool', device });
  state.stoppedCount = count;
}

/** The ids so far [B, length] (a copy), handed to generateIds before the loop frees its buffers. */
interface IdsSink {
  ids: Tensor | null;
}

function* decodeSteps(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions | ResolvedGeneration, sink: IdsSink | null): Generator<GenerationStep, void, void> {
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
  const total = promptLength + o.maxNewTokens;
  const cache = o.useCache ? new KVCache({ capacity: total }) : null;
  const state = decodeState(prompt, inputs.attention_mask, total);
  const finished = new Array<boolean>(batch).fill(false);
  let length = promptLength;
  try {
    for (let step = 0; step < o.maxNewTokens && !finished.every(Boolean); step++) {
      syncStopped(state, finished, prompt.device);
      const tokens = noGrad(() => scope(() => {
        const onlyLast = cache !== null && step > 0; // earlier positions are in the cache
        const from = onlyLast ? length - 1 : 0;
        const { logits } = model.forward({
          input_ids: state.ids.narrow(1, from, length - from),
          position_ids: state.positions.narrow(1, from, length - from),
          attention_mask: state.mask.narrow(1, 0, length),
          past_key_values: cache,
          logits_to_keep: 1,
          ...perRow,
        });
        const seen = o.sampling.repetitionPenalty !== 1 ? state.ids.narrow(1, 0, length) : null;
        const scores = processLogits(logits.select(1, logits.shape[1] - 1), seen, o.sampling);
        const chosen = o.sampling.doSample ? tensor(chooseTokens(scores, o.sampling, random), { dtype: 'int64', device: prompt.device }) : scores.argmax(-1);
        return appendTokens(state, chosen, length, o.pad).toArray(); // the step's one read-back
      }));
      length += 1;
      const chosen = Array.from(tokens, Number);
      chosen.forEach((token, row) => {
        if (!finished[row] && o.eos.has(token)) finished[row] = true;
      });
      yield { tokens: chosen, finished };
    }
    if (sink) sink.ids = noGrad(() => scope(() => state.ids.narrow(1, 0, length).clone()));
  } finally {
    for (const t of [state.ids, state.mask, state.positions, state.stopped]) t?.dispose();
    cache?.dispose();
    if (wasTraining) model.train?.();
  }
}

/**
 * The decoding loop over prompts input_ids (B, S; left-padded where attention_mask is 0): yields each step's
 * tokens. Disposes what it makes, also when the caller stops iterating early.
 */
export function generateSteps(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions | ResolvedGeneration = {}): Generator<GenerationStep, void, void> {
  return decodeSteps(model, inputs, options, null);
}

/**
 * Continues each prompt row of input_ids (B, S; left-padded where attention_mask is 0) and returns the prompts
 * followed by the new tokens (B, S + n); rows that stopped early are filled with padTokenId.
 * @example const out = models.generate(model, { input_ids }, { maxNewTokens: 16, eosTokenId: 2 });
 */
export function generateIds(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options: GenerationOptions = {}): Tensor {
  const sink: IdsSink = { ids: null };
  for (const _ of decodeSteps(model, inputs, options, sink));
  return sink.ids ?? inputs.input_ids.long();
}
