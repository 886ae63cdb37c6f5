// POST /v1/generate: one prompt continued by a causal LM (with an adapter or the base model), through
// the generation engine (continuous batching). Greedy unless temperature > 0; stops at a `stop` token or max_new_tokens.
import { describeJson, requireObject } from './body.js';
import { badRequest } from './http-error.js';
import type { ModelInfo } from './protocol.js';
import { checkAdapterName } from './registry.js';

export const CAUSAL_LMS = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'GPT2LMHeadModel'];

/** Whether an architecture generates text (transformers' *ForCausalLM and GPT-2's LMHeadModel). */
export const isCausalLM = (architecture: string): boolean => /(ForCausalLM|LMHeadModel)$/.test(architecture);

/** The most new tokens one request may ask for. */
export const MAX_NEW_TOKENS_LIMIT = 4096;

export interface GenerateRequest {
  adapter: string | null;
  input_ids: number[];
  max_new_tokens: number;
  /** 0 = greedy (default); > 0 samples from softmax(logits / temperature). */
  temperature: number;
  top_k: number;
  top_p: number;
  /** Token ids that end the continuation (default: the model's eos_token_id). */
  stop: number[];
  /** Seeds the sampler, for reproducible sampling. */
  seed: number | null;
}

const FIELDS = ['adapter', 'input_ids', 'max_new_tokens', 'temperature', 'top_k', 'top_p', 'stop', 'seed'];

function integer(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${name}: expected an integer in [${min}, ${max}], got ${describeJson(value)}`);
  }
  return value;
}

function tokenList(value: unknown, name: string, vocab: number, allowEmpty: boolean): number[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0)) {
    throw badRequest(`${name}: expected a${allowEmpty ? 'n' : ' non-empty'} array of token ids, got ${describeJson(value)}`);
  }
  value.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) {
      throw badRequest(`${name}[${i}]: expected a token id in [0, ${vocab}), got ${describeJson(id)}`);
    }
  });
  return value as number[];
}

/** Checks a generate body against the model; 400 naming the field on any mistake. */
export function parseGenerateRequest(json: unknown, info: ModelInfo): GenerateRequest {
  if (!info.causal) {
    throw badRequest(`generate needs a causal language model (${CAUSAL_LMS.join(', ')}); this server runs ${info.architecture}`);
  }
  const body = requireObject(json, 'request body');
  const unknown = Object.keys(body).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) throw badRequest(`unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${FIELDS.join(', ')}`);
  const vocab = info.vocabSize || Number.MAX_SAFE_INTEGER;
  const inputIds = tokenList(body.input_ids, 'input_ids', vocab, false);
  const positions = info.maxPositions;
  const maxNew = integer(body.max_new_tokens, 'max_new_tokens', 0, MAX_NEW_TOKENS_LIMIT, 20);
  if (inputIds.length + maxNew > positions) {
    throw badRequest(`input_ids (${inputIds.length} tokens) + max_new_tokens (${maxNew}) exceed the model's ${positions} positions`);
  }
  const temperature = body.temperature ?? 0;
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) {
    throw badRequest(`temperature: expected a finite number >= 0, got ${describeJson(temperature)}`);
  }
  const topP = body.top_p ?? 1;
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw badRequest(`top_p: expected a number in (0, 1], got ${describeJson(topP)}`);
  const defaultStop = info.eosTokenIds;
  return {
    adapter: body.adapter === undefined || body.adapter === null ? null : checkAdapterName(body.adapter),
    input_ids: inputIds,
    max_new_tokens: maxNew,
    temperature,
    top_k: integer(body.top_k, 'top_k', 0, vocab, 0),
    top_p: topP,
    stop: body.stop === undefined || body.stop === null ? defaultStop : tokenList(body.stop, 'stop', vocab, true),
    seed: body.seed === undefined || body.seed === null ? null : integer(body.seed, 'seed', 0, Number.MAX_SAFE_INTEGER, 0),
  };
}
