// Text in, text out: prompts (strings or chat messages) are tokenized (chat ones through the model's template,
// with the generation prompt), left-padded into one batch and continued by generateSteps; each row's new ids
// are detokenized incrementally (never splitting a character) and cut at the first stop string. Streaming and
// whole-text results come from the same per-row pipeline, so they are the same text.
import { TorchError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ChatMessage } from '../text/chat-template.js';
import { StopStringMatcher } from '../text/stop-strings.js';
import { StreamDecoder } from '../text/stream-decoder.js';
import { type CausalLM, type GenerationOptions, generateIds, generateSteps, resolveGeneration } from './generation.js';

/** A prompt: plain text (special tokens such as BOS added as the tokenizer does), or chat messages. */
export type Prompt = string | readonly ChatMessage[];

/** What generation needs of a tokenizer (lib/text's PreTrainedTokenizer has it). */
export interface GenerationTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean; tokenize?: boolean }): string | number[];
  readonly eosTokenId: number | null;
  /** Every end token (tokenizer config and generation_config.json). */
  readonly eosTokenIds?: readonly number[];
  readonly padTokenId: number | null;
}

export interface TextGenerationOptions extends GenerationOptions {
  tokenizer: GenerationTokenizer;
  /** Generation stops when the text contains one of these; the text returned ends just before it. */
  stop?: string | readonly string[];
  /** Add the tokenizer's special tokens (BOS) to text prompts (default true, as tokenizer(text) does; chat prompts never). */
  addSpecialTokens?: boolean;
  /** Leave special tokens out of the text (default true). */
  skipSpecialTokens?: boolean;
}

function isMessages(value: unknown): value is readonly ChatMessage[] {
  return Array.isArray(value) && value.every((m) => m !== null && typeof m === 'object' && !Array.isArray(m));
}

/** Prompt token ids, checked. */
export function encodePrompt(tokenizer: GenerationTokenizer, prompt: Prompt, addSpecialTokens = true): number[] {
  if (typeof prompt === 'string') return tokenizer.encode(prompt, { addSpecialTokens });
  if (!isMessages(prompt) || prompt.length === 0 || prompt.some((m) => typeof m.role !== 'string' || (typeof m.content !== 'string' && !Array.isArray(m.content)))) {
    throw new TorchError(`generate: a prompt must be a string or a non-empty list of {role, content} messages, got ${JSON.stringify(prompt)?.slice(0, 200)}`);
  }
  const ids = tokenizer.applyChatTemplate(prompt, { addGenerationPrompt: true, tokenize: true });
  if (!Array.isArray(ids)) throw new TorchError('generate: the tokenizer returned text from applyChatTemplate with tokenize: true');
  return ids;
}

/** Left-padded int64 ids and mask (B, longest) for prompts of unequal length. */
export function leftPad(rows: readonly (readonly number[])[], padId: number): { input_ids: Tensor; attention_mask: Tensor } {
  const longest = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array<number>(longest - r.length).fill(padId), ...r]);
  const mask = rows.map((r) => [...new Array<number>(longest - r.length).fill(0), ...new Array<number>(r.length).fill(1)]);
  return { input_ids: tensor(ids, { dtype: 'int64' }), attention_mask: tensor(mask, { dtype: 'int64' }) };
}

/** The end tokens: the options', else the tokenizer's (config and generation_config.json). */
function endTokens(options: TextGenerationOptions): number | readonly number[] | null {
  if (options.eosTokenId !== undefined) return options.eosTokenId;
  const { eosTokenIds, eosTokenId } = options.tokenizer;
  return eosTokenIds && eosTokenIds.length > 0 ? eosTokenIds : eosTokenId;
}

/** One prompt row's text pipeline: ids → characters → text before any stop string. */
class RowText {
  readonly #decoder: StreamDecoder;
  readonly #stops: StopStringMatcher | null;
  done = false;

  constructor(tokenizer: GenerationTokenizer, promptIds: readonly number[], stops: readonly string[], skipSpecialTokens: boolean) {
    this.#decoder = new StreamDecoder((ids) => tokenizer.decode(ids, { skipSpecialTokens }), promptIds);
    this.#stops = stops.length > 0 ? new StopStringMatcher(stops) : null;
  }

  /** Text for a new token; `stopped` when a stop string ended the row. */
  push(id: number): { text: string; stopped: boolean } {
    const chunk = this.#decoder.push(id);
    return this.#stops ? this.#stops.push(chunk) : { text: chunk, stopped: false };
  }

  /** What is left when the row ends. */
  finish(): string {
    this.done = true;
    const rest = this.#decoder.flush();
    if (!this.#stops) return rest;
    const { text, stopped } = this.#stops.push(rest);
    return stopped ? text : text + this.#stops.flush();
  }
}

/** The model's position limit (max_position_embeddings / n_positions), looking through a PeftModel; null if unknown. */
function positionLimit(model: CausalLM): number | null {
  type WithConfig = { config?: { max_position_embeddings?: unknown; n_positions?: unknown }; model?: WithConfig };
  const config = (model as WithConfig).config ?? (model as WithConfig).model?.config;
  const limit = config?.max_position_embeddings ?? config?.n_positions;
  return typeof limit === 'number' && limit > 0 ? limit : null;
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Per step, each row's new text ('' when none); yields to the event loop between steps. */
async function* textSteps(model: CausalLM, prompts: readonly Prompt[], options: TextGenerationOptions): AsyncGenerator<string[], void, void> {
  const { tokenizer } = options;
  if (!tokenizer || typeof tokenizer.decode !== 'function') throw new TorchError('generate: text prompts need options.tokenizer (e.g. await AutoTokenizer.fromPretrained(dir))');
  if (prompts.length === 0) throw new TorchError('generate: no prompts given');
  const stops = options.stop === undefined ? [] : [options.stop].flat();
  if (stops.some((s) => typeof s !== 'string' || s === '')) throw new TorchError(`generate: stop must be a non-empty string or a list of them, got ${JSON.stringify(options.stop)}`);
  const resolved = resolveGeneration({ ...options, eosTokenId: endTokens(options) });
  const encoded = prompts.map((p) => encodePrompt(tokenizer, p, options.addSpecialTokens ?? true));
  const empty = encoded.findIndex((ids) => ids.length === 0);
  if (empty >= 0) throw new TorchError(`generate: prompt ${empty} encodes to no tokens`);
  const limit = positionLimit(model);
  const longest = Math.max(...encoded.map((ids) => ids.length));
  if (limit !== null && longest >= limit) throw new TorchError(`generate: a prompt of ${longest} tokens leaves no room within the model's ${limit} positions`);
  if (limit !== null) resolved.maxNewTokens = Math.min(resolved.maxNewTokens, limit - longest); // as far as the model reaches
  const rows = encoded.map((ids) => new RowText(tokenizer, ids, stops, options.skipSpecialTokens ?? true));
  const padId = options.padTokenId ?? tokenizer.padTokenId ?? [...resolved.eos][0] ?? 0;
  const batch = leftPad(encoded, padId);
  try {
    for (const { tokens, finished } of generateSteps(model, batch, resolved)) {
      const texts = tokens.map((token, row) => {
        const text = rows[row];
        if (text.done) return '';
        if (resolved.eos.has(token)) return text.finish(); // the end token itself is not text
        const { text: chunk, stopped } = text.push(token);
        if (!stopped) return chunk;
        finished[row] = true;
        text.done = true;
        return chunk;
      });
      yield texts;
      await nextTick();
    }
    yield rows.map((text) => (text.done ? '' : text.finish())); // rows that ran out of maxNewTokens
  } finally {
    batch.input_ids.dispose();
    batch.attention_mask.dispose();
  }
}

/**
 * Generates text for a prompt (string or chat messages), or for each prompt of a batch (left-padded together).
 * @example const answer = await generateText(model, 'The capital of France is', { tokenizer, maxNewTokens: 8 });
 */
export async function generateText(model: CausalLM, prompt: Prompt, options: TextGenerationOptions): Promise<string>;
export async function generateText(model: CausalLM, prompts: readonly Prompt[], options: TextGenerationOptions): Promise<string[]>;
export async function generateText(model: CausalLM, input: Prompt | readonly Prompt[], options: TextGenerationOptions): Promise<string | string[]> {
  const single = typeof input === 'string' || isMessages(input);
  const prompts = single ? [input as Prompt] : (input as readonly Prompt[]);
  const texts = prompts.map(() => '');
  for await (const step of textSteps(model, prompts, options)) step.forEach((chunk, row) => (texts[row] += chunk));
  return single ? texts[0] : texts;
}

/**
 * Streams the text generated for one prompt as it comes: chunks never split a character and never hold a stop
 * string; joined they are exactly generateText's result. Breaking out of the loop stops generation.
 * @example for await (const chunk of streamText(model, messages, { tokenizer })) process.stdout.write(chunk);
 */
export async function* streamText(model: CausalLM, prompt: Prompt, options: TextGenerationOptions): AsyncGenerator<string, void, void> {
  if (Array.isArray(prompt) && !isMessages(prompt)) throw new TorchError('streamText: streams one prompt (a string or chat messages), not a batch');
  for await (const [chunk] of textSteps(model, [prompt], options)) if (chunk) yield chunk;
}

/**
 * transformers-style generate: token ids in (input_ids, attention_mask) → ids out (prompt + new tokens), or
 * text in (a prompt, chat messages, or a batch of them; needs options.tokenizer) → text out.
 * @example const text = await models.generate(peft, [{ role: 'user', content: 'Hi' }], { tokenizer, maxNewTokens: 32 });
 */
export function generate(model: CausalLM, inputs: { input_ids: Tensor; attention_mask?: Tensor | null }, options?: GenerationOptions): Tensor;
export function generate(model: CausalLM, prompt: Prompt, options: TextGenerationOptions): Promise<string>;
export function generate(model: CausalLM, prompts: readonly Prompt[], options: TextGenerationOptions): Promise<string[]>;
export function generate(
  model: CausalLM,
  input: { input_ids: Tensor; attention_mask?: Tensor | null } | Prompt | readonly Prompt[],
  options: GenerationOptions | TextGenerationOptions = {},
): Tensor | Promise<string | string[]> {
  if (input !== null && typeof input === 'object' && !Array.isArray(input) && 'input_ids' in input) return generateIds(model, input, options);
  return generateText(model, input as Prompt, options as TextGenerationOptions);
}
