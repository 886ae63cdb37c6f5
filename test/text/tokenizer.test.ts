// Tokenizers agree id for id with transformers' AutoTokenizer on each family's folder (fixtures made in Python).
import { describe, expect, it } from 'vitest';
import { AutoTokenizer, PreTrainedTokenizer, TokenizerError } from '../../lib/index.js';
import { expected, FAMILIES, folder } from './fixtures.js';

describe.each(FAMILIES)('the %s tokenizer', (family) => {
  const want = expected(family);
  const tokenizer = PreTrainedTokenizer.fromDirectory(folder(family));

  it.each(want.encode.map((c) => [JSON.stringify(c.text), c] as const))('encodes %s as transformers does', (_, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
    expect(tokenizer.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids_no_special);
    expect(tokenizer.convertIdsToTokens(c.ids)).toEqual(c.tokens);
  });

  it.each(want.encode.map((c) => [JSON.stringify(c.text), c] as const))('decodes %s as transformers does', (_, c) => {
    expect(tokenizer.decode(c.ids)).toBe(c.decoded);
    expect(tokenizer.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded_skip);
  });

  it('has the special tokens, padding side and sizes transformers reports', () => {
    const s = want.special;
    expect([tokenizer.bosToken, tokenizer.eosToken, tokenizer.unkToken, tokenizer.padToken])
      .toEqual([s.bos_token, s.eos_token, s.unk_token, s.pad_token]);
    expect([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.unkTokenId, tokenizer.padTokenId])
      .toEqual([s.bos_token_id, s.eos_token_id, s.unk_token_id, s.pad_token_id]);
    expect(tokenizer.paddingSide).toBe(want.padding_side);
    expect(tokenizer.modelMaxLength).toBe(want.model_max_length);
    expect(tokenizer.vocabSize).toBe(want.vocab_size);
    const generationEos = want.eos_token_ids === null ? [] : [want.eos_token_ids].flat();
    expect(new Set(tokenizer.eosTokenIds)).toEqual(new Set([...generationEos, ...(s.eos_token_id === null ? [] : [s.eos_token_id])]));
  });

  it.runIf(want.batch.length > 0)('pads and truncates batches (and sentence pairs, longest first) as transformers does', () => {
    const texts = ['Hello world', 'A longer sentence with more tokens in it, café 😀.', 'x'];
    for (const c of want.batch) {
      const got = tokenizer.batchEncode(texts, {
        padding: c.options.padding, truncation: c.options.truncation, maxLength: c.options.max_length,
        addSpecialTokens: c.options.add_special_tokens, textPairs: c.pairs, returnTokenTypeIds: c.pairs !== undefined,
      });
      const want = c.pairs ? { input_ids: c.input_ids, attention_mask: c.attention_mask, token_type_ids: c.token_type_ids }
        : { input_ids: c.input_ids, attention_mask: c.attention_mask };
      expect(got, JSON.stringify(c.options)).toEqual(want);
    }
  });
});

describe('split_special_tokens', () => {
  it('encodes special tokens written in text as text, keeping non-special added tokens', () => {
    const tokenizer = PreTrainedTokenizer.fromDirectory(folder('qwen2'));
    const text = '<|im_start|>user\nHi<|im_end|><tool_call>';
    // transformers 5.17: AutoTokenizer.from_pretrained(qwen2).encode(text, split_special_tokens=True)
    const python = [27, 91, 72, 76, 62, 82, 83, 362, 83, 91, 29, 84, 82, 259, 198, 39, 72, 27, 91, 72, 76, 62, 68, 263, 91, 29, 443];
    expect(tokenizer.encode(text, { splitSpecialTokens: true })).toEqual(python);
    expect(tokenizer.encode(text).slice(0, 2)).toEqual([441, 84]);
  });
});

describe('AutoTokenizer.fromPretrained', () => {
  it('loads a local folder', async () => {
    const tokenizer = await AutoTokenizer.fromPretrained(folder('qwen2'));
    expect(tokenizer.decode(tokenizer.encode('Hello world'))).toBe('Hello world');
  });

  it('names the folder when there is no tokenizer.json', () => {
    expect(() => PreTrainedTokenizer.fromDirectory(__dirname)).toThrow(TokenizerError);
    expect(() => PreTrainedTokenizer.fromDirectory(__dirname)).toThrow(/no tokenizer\.json/);
  });
});
