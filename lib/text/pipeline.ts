// One tokenizer.json as a pipeline: added-token split -> normalizer -> pre-tokenizer -> model -> post-processor,
// and decode. Normalizers, models, post-processors and decoders are @huggingface/tokenizers'; added tokens,
// pre-tokenizers, Unigram byte fallback and WordLevel lookups are node-peft's thin layer (Rust semantics).
import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { AddedTokenSplitter, type AddedTokenSpec } from './added-tokens.js';
import { isObject, type JsonObject } from './files.js';
import { alignTokens, byteLevelSurface, pieceSurface, type SurfaceBytes } from './offsets.js';
import { createPreTokenizer } from './pre-tokenizers.js';

type Callable<A extends unknown[], R> = (...args: A) => R;

interface LibraryModel {
  (words: string[]): string[];
  tokens_to_ids: Map<string, number>;
  vocab: string[];
  unk_token?: string;
  unk_token_id?: number;
}

interface LibraryInternals {
  normalizer: Callable<[string], string> | null;
  model: LibraryModel;
  post_processor: Callable<[string[], string[] | null, boolean], { tokens: string[]; token_type_ids?: number[]; tokens_pair?: string[] | null }> | null;
  decoder: Callable<[string[]], string> | null;
}

const COMPONENTS = ['normalizer', 'pre_tokenizer', 'model', 'post_processor', 'decoder'] as const;
const BYTE_TOKEN = (byte: number): string => `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;

function addedTokenSpecs(json: JsonObject): AddedTokenSpec[] {
  const list = json.added_tokens ?? [];
  if (!Array.isArray(list)) throw new Error('added_tokens must be a list');
  return list.map((entry, index) => {
    if (!isObject(entry) || typeof entry.content !== 'string' || !Number.isInteger(entry.id)) {
      throw new Error(`added_tokens[${index}] needs a string "content" and an integer "id"`);
    }
    const special = entry.special === true;
    return {
      id: entry.id as number, content: entry.content, special, singleWord: entry.single_word === true,
      lstrip: entry.lstrip === true, rstrip: entry.rstrip === true,
      normalized: typeof entry.normalized === 'boolean' ? entry.normalized : !special,
    };
  });
}

interface TokenSpan {
  start: number;
  text: string;
  tokens: string[];
  added: boolean;
}

export interface PipelineEncoding {
  tokens: string[];
  ids: number[];
  typeIds: number[];
}

export interface EncodeParts {
  pair?: string;
  /** Special tokens written in the text are encoded as text (transformers' split_special_tokens). */
  splitSpecialTokens?: boolean;
  maxLength?: number;
  side?: 'left' | 'right';
}

/** Rust tokenizers' LongestFirst lengths for a pair that must fit `max` tokens. */
export function longestFirst(length1: number, length2: number, max: number): [number, number] {
  const swap = length1 > length2;
  let n1 = swap ? length2 : length1;
  let n2 = n1 > max ? n1 : Math.max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = Math.floor(max / 2);
    n2 = n1 + (max % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

export class TokenizerPipeline {
  readonly addedTokens: AddedTokenSpec[];
  private readonly library: LibraryInternals;
  private readonly preTokenize;
  private readonly rawSplitter: AddedTokenSplitter;
  private readonly normalizedSplitter: AddedTokenSplitter;
  /** The same without special tokens, for split_special_tokens (special tokens in the text encode as text). */
  private readonly rawSplitterNoSpecial: AddedTokenSplitter;
  private readonly normalizedSplitterNoSpecial: AddedTokenSplitter;
  private readonly addedByContent = new Map<string, AddedTokenSpec>();
  private readonly addedById = new Map<number, AddedTokenSpec>();
  private readonly unkId: number | undefined;
  private readonly unigramByteFallback: boolean;
  private readonly surface: SurfaceBytes;

  /** `json` is a parsed tokenizer.json; throws plain Errors that the caller wraps with the file name. */
  constructor(json: JsonObject) {
    if (!isObject(json.model)) throw new Error('"model" must be an object');
    const model = json.model;
    this.addedTokens = addedTokenSpecs(json);
    const forLibrary: JsonObject = { ...json, pre_tokenizer: null };
    for (const key of COMPONENTS) forLibrary[key] ??= null;
    if (model.type === 'WordLevel') forLibrary.model = { ...model, type: undefined }; // the library's pass-through model
    forLibrary.added_tokens = Array.isArray(json.added_tokens) ? json.added_tokens : [];
    this.library = new LibraryTokenizer(forLibrary, {}) as unknown as LibraryInternals;
    this.preTokenize = createPreTokenizer(json.pre_tokenizer);
    for (const token of this.addedTokens) {
      this.addedByContent.set(token.content, token);
      this.addedById.set(token.id, token);
    }
    const rawTokens = this.addedTokens.filter((t) => !t.normalized || this.library.normalizer === null);
    const normalizedTokens = this.addedTokens.filter((t) => t.normalized && this.library.normalizer !== null)
      .map((t) => ({ ...t, content: this.normalize(t.content) }));
    this.rawSplitter = new AddedTokenSplitter(rawTokens);
    this.normalizedSplitter = new AddedTokenSplitter(normalizedTokens);
    this.rawSplitterNoSpecial = new AddedTokenSplitter(rawTokens.filter((t) => !t.special));
    this.normalizedSplitterNoSpecial = new AddedTokenSplitter(normalizedTokens.filter((t) => !t.special));
    const unkToken = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    this.unkId = model.type === 'Unigram' ? (model.unk_id as number | undefined) ?? undefined
      : unkToken === undefined ? undefined : this.library.model.tokens_to_ids.get(unkToken);
    this.unigramByteFallback = model.type === 'Unigram' && model.byte_fallback === true;
    const byteLevel = JSON.stringify([json.pre_tokenizer, json.decoder]).includes('"ByteLevel"');
    const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : model.type === 'WordPiece' ? '##' : undefined;
    this.surface = byteLevel ? byteLevelSurface : pieceSurface(prefix || undefined);
  }

  get vocabSize(): number {
    return this.library.model.vocab.length;
  }

  normalize(text: string): string {
    return this.library.normalizer === null ? text : this.library.normalizer(text);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.library.model.tokens_to_ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.library.model.vocab[id];
  }

  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true;
  }

  private modelTokens(word: string): string[] {
    const tokens = this.library.model([word]);
    return this.unigramByteFallback ? this.unigramBytes(tokens) : tokens;
  }

  // The library's Unigram leaves unknown characters as they are (one fused piece per run, later mapped to <unk>);
  // Rust emits their UTF-8 bytes as <0xXX> pieces when byte_fallback is set and every byte piece exists.
  private unigramBytes(tokens: string[]): string[] {
    const vocab = this.library.model.tokens_to_ids;
    return tokens.flatMap((token) => {
      if (vocab.has(token)) return [token];
      const bytes = [...new TextEncoder().encode(token)].map(BYTE_TOKEN);
      return bytes.every((b) => vocab.has(b)) ? bytes : [token];
    });
  }

  /** Tokens of one text before post-processing, grouped by the span of text they came from. */
  private tokenizeSpans(text: string, splitSpecialTokens = false): TokenSpan[] {
    const spans: TokenSpan[] = [];
    const rawSplitter = splitSpecialTokens ? this.rawSplitterNoSpecial : this.rawSplitter;
    const normalizedSplitter = splitSpecialTokens ? this.normalizedSplitterNoSpecial : this.normalizedSplitter;
    for (const piece of rawSplitter.split(text)) {
      if (piece.token) {
        spans.push({ start: piece.start, text: piece.text, tokens: [piece.token.content], added: true });
        continue;
      }
      const normalized = this.normalize(piece.text);
      for (const part of normalizedSplitter.split(normalized)) {
        if (part.token) {
          const content = this.addedById.get(part.token.id)!.content;
          spans.push({ start: piece.start + part.start, text: part.text, tokens: [content], added: true });
          continue;
        }
        const first = piece.start === 0 && part.start === 0;
        const words = this.preTokenize === null ? [part.text] : this.preTokenize(part.text, first);
        const tokens = words.filter((w) => w.length > 0).flatMap((w) => this.modelTokens(w));
        spans.push({ start: piece.start + part.start, text: part.text, tokens, added: false });
      }
    }
    return spans;
  }

  private tokenize(text: string, splitSpecialTokens = false): string[] {
    return this.tokenizeSpans(text, splitSpecialTokens).flatMap((span) => span.tokens);
  }

  /** Ids without special tokens, with each token's [start, end) character offsets in `text`. */
  encodeWithOffsets(text: string, splitSpecialTokens = false): { ids: number[]; offsets: [number, number][] } {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const span of this.tokenizeSpans(text, splitSpecialTokens)) {
      const spanOffsets = span.added ? [[0, span.text.length] as [number, number]] : alignTokens(span.text, span.tokens, this.surface);
      span.tokens.forEach((token, i) => {
        const id = this.tokenToId(token) ?? this.unkId;
        if (id === undefined) return;
        ids.push(id);
        const [start, end] = spanOffsets[i]!;
        offsets.push([span.start + start, span.start + end]);
      });
    }
    return { ids, offsets };
  }

  private toIds(tokens: string[]): number[] {
    const ids: number[] = [];
    for (const token of tokens) {
      const id = this.tokenToId(token) ?? this.unkId;
      if (id !== undefined) ids.push(id); // Rust drops what it can't map when there is no unk token
    }
    return ids;
  }

  /** How many special tokens the post-processor adds to one sequence or a pair. */
  private specialCount(isPair: boolean): number {
    return this.library.post_processor === null ? 0 : this.library.post_processor([], isPair ? [] : null, true).tokens.length;
  }

  /**
   * Post-processed tokens, ids and type ids. With `maxLength`, sequences are cut before the special tokens are
   * added, keeping room for them (pairs: Rust's longest-first strategy).
   */
  encode(text: string, addSpecialTokens: boolean, options: EncodeParts = {}): PipelineEncoding {
    let first = this.tokenize(text, options.splitSpecialTokens);
    let second = options.pair === undefined ? null : this.tokenize(options.pair, options.splitSpecialTokens);
    if (options.maxLength !== undefined) {
      const target = Math.max(0, options.maxLength - (addSpecialTokens ? this.specialCount(second !== null) : 0));
      const cut = (tokens: string[], n: number): string[] =>
        tokens.length <= n ? tokens : options.side === 'left' ? tokens.slice(tokens.length - n) : tokens.slice(0, n);
      if (second === null) first = cut(first, target);
      else if (first.length + second.length > target) {
        const [n1, n2] = longestFirst(first.length, second.length, target);
        first = cut(first, n1);
        second = cut(second, n2);
      }
    }
    if (this.library.post_processor === null) {
      const tokens = [...first, ...(second ?? [])];
      return { tokens, ids: this.toIds(tokens), typeIds: [...first.map(() => 0), ...(second ?? []).map(() => 1)] };
    }
    const processed = this.library.post_processor(first, second, addSpecialTokens);
    // The library's ByteLevel post-processor hands the pair back separately instead of appending it.
    const pairTail = processed.tokens_pair ?? [];
    const out = { tokens: [...processed.tokens, ...pairTail] };
    const typeIds = processed.token_type_ids ?? [...processed.tokens.map(() => 0), ...pairTail.map(() => 1)];
    // ids of tokens that map to nothing are dropped together with their type ids
    const kept = out.tokens.map((t) => this.tokenToId(t) ?? this.unkId);
    return {
      tokens: out.tokens.filter((_, i) => kept[i] !== undefined),
      ids: kept.filter((id): id is number => id !== undefined),
      typeIds: typeIds.filter((_, i) => kept[i] !== undefined),
    };
  }

  decode(ids: readonly number[], skipSpecialTokens: boolean): string {
    const tokens: string[] = [];
    for (const id of ids) {
      if (skipSpecialTokens && this.isSpecial(id)) continue;
      const token = this.idToToken(id);
      if (token !== undefined) tokens.push(token);
    }
    if (tokens.length === 0) return '';
    return this.library.decoder === null ? tokens.join(' ') : this.library.decoder(tokens);
  }
}
