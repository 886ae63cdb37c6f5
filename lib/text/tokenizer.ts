// PreTrainedTokenizer / AutoTokenizer: transformers' tokenizer API over one tokenizer folder.
import { ChatTemplateError, TokenizerError } from '../errors.js';
import { assistantSpansByPrefix, hasGenerationMarkers, renderWithGenerationSpans, spansToTokenMask } from './assistant-mask.js';
import { padBatch, type BatchEncoding, type BatchEncodeOptions } from './batch.js';
import { renderChatTemplate, selectChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.js';
import { readTokenizerSettings, type SpecialTokenKey, type TokenizerSettings } from './config.js';
import { TokenizerPipeline } from './pipeline.js';
import { resolveTokenizerDir } from './resolve.js';

export interface EncodeOptions {
  addSpecialTokens?: boolean;
  /** Cut to `maxLength` tokens (special tokens included), from `truncationSide`; pairs: longest first. */
  truncation?: boolean;
  maxLength?: number;
  /** A second sequence (e.g. for sentence-pair classification). */
  textPair?: string;
  /** Encode special tokens written in the text as plain text (default: tokenizer_config.json's split_special_tokens). */
  splitSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Defaults to tokenizer_config.json's value; never applied to BPE tokenizers (as in transformers 5). */
  cleanUpTokenizationSpaces?: boolean;
}

export interface TokenizerLoadOptions {
  revision?: string;
}

// transformers' clean_up_tokenization.
function cleanUp(text: string): string {
  return text.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

export class PreTrainedTokenizer {
  readonly pipeline: TokenizerPipeline;
  readonly settings: TokenizerSettings;
  paddingSide: 'left' | 'right';
  truncationSide: 'left' | 'right';
  readonly modelMaxLength: number;
  readonly chatTemplates: Readonly<Record<string, string>>;

  constructor(settings: TokenizerSettings) {
    this.settings = settings;
    try {
      this.pipeline = new TokenizerPipeline(settings.tokenizerJson);
    } catch (error) {
      if (error instanceof TokenizerError) throw error;
      throw new TokenizerError(`cannot build the tokenizer (${(error as Error).message})`, `${settings.dir}/tokenizer.json`);
    }
    this.paddingSide = settings.paddingSide;
    this.truncationSide = settings.truncationSide;
    this.modelMaxLength = settings.modelMaxLength;
    this.chatTemplates = settings.chatTemplates;
  }

  /** A local folder, or a Hub repo id ('org/name', downloaded into the Hugging Face cache). */
  static async fromPretrained(dirOrRepo: string, options: TokenizerLoadOptions = {}): Promise<PreTrainedTokenizer> {
    const dir = await resolveTokenizerDir(dirOrRepo, options.revision);
    return new PreTrainedTokenizer(readTokenizerSettings(dir));
  }

  /** Synchronous load from a local folder. */
  static fromDirectory(dir: string): PreTrainedTokenizer {
    return new PreTrainedTokenizer(readTokenizerSettings(dir));
  }

  private special(key: SpecialTokenKey): string | null {
    return this.settings.specialTokens[key] ?? null;
  }

  private specialId(key: SpecialTokenKey): number | null {
    const token = this.special(key);
    return token === null ? null : this.pipeline.tokenToId(token) ?? null;
  }

  get bosToken(): string | null { return this.special('bos_token'); }
  get eosToken(): string | null { return this.special('eos_token'); }
  get padToken(): string | null { return this.special('pad_token'); }
  get unkToken(): string | null { return this.special('unk_token'); }
  get sepToken(): string | null { return this.special('sep_token'); }
  get clsToken(): string | null { return this.special('cls_token'); }
  get maskToken(): string | null { return this.special('mask_token'); }
  get bosTokenId(): number | null { return this.specialId('bos_token'); }
  get eosTokenId(): number | null { return this.specialId('eos_token'); }
  get padTokenId(): number | null { return this.specialId('pad_token'); }
  get unkTokenId(): number | null { return this.specialId('unk_token'); }
  get sepTokenId(): number | null { return this.specialId('sep_token'); }
  get clsTokenId(): number | null { return this.specialId('cls_token'); }
  get maskTokenId(): number | null { return this.specialId('mask_token'); }

  /** Every id that ends generation: generation_config.json's eos_token_id list and the tokenizer's eos token. */
  get eosTokenIds(): number[] {
    const ids = new Set(this.settings.generationEosIds);
    if (this.eosTokenId !== null) ids.add(this.eosTokenId);
    return [...ids];
  }

  /** The number of ids the tokenizer can produce (vocabulary plus added tokens), like `len(tokenizer)`. */
  get vocabSize(): number {
    return Math.max(this.pipeline.vocabSize, ...this.pipeline.addedTokens.map((t) => t.id + 1));
  }

  /** Ids of added tokens marked special (skipped by `decode(ids, { skipSpecialTokens: true })`). */
  get allSpecialIds(): number[] {
    return this.pipeline.addedTokens.filter((t) => t.special).map((t) => t.id);
  }

  get addedTokensDecoder(): Map<number, { content: string; special: boolean }> {
    return new Map(this.pipeline.addedTokens.map((t) => [t.id, { content: t.content, special: t.special }]));
  }

  get chatTemplate(): string | undefined {
    return this.chatTemplates.default;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeWithTypes(text, options).ids;
  }

  /** ids and token_type_ids (0 for the text, 1 for `textPair`, as the post-processor assigns them). */
  encodeWithTypes(text: string, options: EncodeOptions = {}): { ids: number[]; typeIds: number[] } {
    if (typeof text !== 'string') throw new TokenizerError(`encode() expects a string, got ${typeof text}`);
    if (options.textPair !== undefined && typeof options.textPair !== 'string') throw new TokenizerError('textPair must be a string');
    const maxLength = options.truncation ? options.maxLength ?? this.modelMaxLength : undefined;
    const { ids, typeIds } = this.pipeline.encode(text, options.addSpecialTokens ?? true, {
      pair: options.textPair, maxLength: maxLength !== undefined && maxLength < 2 ** 31 ? maxLength : undefined, side: this.truncationSide,
      splitSpecialTokens: options.splitSpecialTokens ?? this.settings.splitSpecialTokens,
    });
    return { ids, typeIds };
  }

  tokenize(text: string, options: { addSpecialTokens?: boolean } = {}): string[] {
    return this.convertIdsToTokens(this.encode(text, { addSpecialTokens: options.addSpecialTokens ?? false }));
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id))) {
      throw new TokenizerError('decode() expects an array of integer ids');
    }
    const text = this.pipeline.decode(ids, options.skipSpecialTokens ?? false);
    const cleanUpWanted = options.cleanUpTokenizationSpaces ?? this.settings.cleanUpTokenizationSpaces;
    const model = (this.settings.tokenizerJson.model as { type?: string }).type;
    return cleanUpWanted && model !== 'BPE' ? cleanUp(text) : text;
  }

  batchDecode(batch: readonly (readonly number[])[], options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.pipeline.idToToken(id) ?? '');
  }

  convertTokensToIds(tokens: readonly string[]): (number | null)[] {
    return tokens.map((t) => this.pipeline.tokenToId(t) ?? this.unkTokenId);
  }

  /** Encode several texts; pad (to the longest, or to `maxLength`) on `paddingSide` with the pad token. */
  batchEncode(texts: readonly string[], options: BatchEncodeOptions = {}): BatchEncoding {
    const { padding = false, truncation = false, maxLength, addSpecialTokens = true } = options;
    const limit = maxLength ?? (truncation || padding === 'max_length' ? this.modelMaxLength : undefined);
    const pairs = options.textPairs;
    if (pairs !== undefined && pairs.length !== texts.length) {
      throw new TokenizerError(`textPairs has ${pairs.length} entries for ${texts.length} texts`);
    }
    const rows = texts.map((text, i) => this.encodeWithTypes(text, {
      addSpecialTokens, truncation: truncation && limit !== undefined, maxLength: limit, textPair: pairs?.[i],
      splitSpecialTokens: options.splitSpecialTokens,
    }));
    const side = options.paddingSide ?? this.paddingSide;
    const batch = padBatch(rows.map((r) => r.ids), { padding, maxLength: limit, padTokenId: this.padTokenId, side });
    if (!options.returnTokenTypeIds) return batch;
    const types = padBatch(rows.map((r) => r.typeIds), { padding, maxLength: limit, padTokenId: 0, side });
    return { ...batch, token_type_ids: types.input_ids };
  }

  /** Like calling a Python tokenizer on a list of texts. */
  call(texts: readonly string[], options: BatchEncodeOptions = {}): BatchEncoding {
    return this.batchEncode(texts, options);
  }

  /** Render messages with the model's chat template; `tokenize` (default true) encodes without adding specials. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions & { tokenize?: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string | number[];
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string | number[] {
    const text = renderChatTemplate(this, messages, options);
    return options.tokenize === false ? text : this.encode(text, { addSpecialTokens: false });
  }

  /**
   * Ids and assistant mask, like apply_chat_template(return_assistant_tokens_mask=True). Templates without
   * {% generation %} blocks get each assistant turn's span from renders of the conversation up to it.
   */
  applyChatTemplateWithAssistantMask(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): ChatEncoding {
    if (options.continueFinalMessage) throw new ChatTemplateError('continueFinalMessage cannot be combined with assistant masks');
    const { source } = selectChatTemplate(this, options);
    const { text, spans } = hasGenerationMarkers(source)
      ? renderWithGenerationSpans(this, messages, options)
      : assistantSpansByPrefix(this, messages, options);
    const { ids, offsets } = this.pipeline.encodeWithOffsets(text, this.settings.splitSpecialTokens);
    return { input_ids: ids, assistant_masks: spansToTokenMask(offsets, spans) };
  }
}

export interface ChatEncoding {
  input_ids: number[];
  /** 1 on tokens the template's {% generation %} blocks produced (assistant turns), else 0. */
  assistant_masks: number[];
}

export const AutoTokenizer = {
  fromPretrained: (dirOrRepo: string, options?: TokenizerLoadOptions): Promise<PreTrainedTokenizer> =>
    PreTrainedTokenizer.fromPretrained(dirOrRepo, options),
};
