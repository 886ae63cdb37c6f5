// Padding and truncation for batches (the Rust library does these; @huggingface/tokenizers has neither).
import { TokenizerError } from '../errors.js';

export type Padding = boolean | 'longest' | 'max_length' | 'do_not_pad';

export interface BatchEncodeOptions {
  /** true/'longest': to the longest row; 'max_length': to `maxLength` (default the model's maximum). */
  padding?: Padding;
  /** Cut each row to `maxLength` tokens, special tokens included. */
  truncation?: boolean;
  maxLength?: number;
  addSpecialTokens?: boolean;
  /** Overrides the tokenizer's configured side for this call. */
  paddingSide?: 'left' | 'right';
  /** Second sequences, one per text (sentence pairs). */
  textPairs?: readonly string[];
  /** Also return token_type_ids (0 for the text, 1 for its pair). */
  returnTokenTypeIds?: boolean;
  /** Encode special tokens written in the texts as plain text. */
  splitSpecialTokens?: boolean;
}

export interface BatchEncoding {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
}

export function padBatch(
  rows: number[][],
  options: { padding: Padding; maxLength: number | undefined; padTokenId: number | null; side: 'left' | 'right' },
): BatchEncoding {
  const { padding, padTokenId, side } = options;
  const masks = rows.map((row) => row.map(() => 1));
  if (padding === false || padding === 'do_not_pad') return { input_ids: rows, attention_mask: masks };
  if (padTokenId === null) {
    throw new TokenizerError('asked to pad but the tokenizer has no pad token (set tokenizer_config.json "pad_token", or pass padding: false)');
  }
  let target = Math.max(0, ...rows.map((row) => row.length));
  if (padding === 'max_length') {
    if (options.maxLength === undefined || !Number.isFinite(options.maxLength) || options.maxLength > 2 ** 31) {
      throw new TokenizerError("padding: 'max_length' needs maxLength (the tokenizer has no model_max_length)");
    }
    target = Math.max(target, options.maxLength);
  }
  const pad = (row: number[], value: number): number[] => {
    const fill = new Array<number>(target - row.length).fill(value);
    return side === 'left' ? [...fill, ...row] : [...row, ...fill];
  };
  return { input_ids: rows.map((row) => pad(row, padTokenId)), attention_mask: masks.map((mask) => pad(mask, 0)) };
}
