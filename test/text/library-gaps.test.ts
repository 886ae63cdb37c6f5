// Where @huggingface/tokenizers 0.2.0 alone differs from Python tokenizers, and node-peft's thin layer agrees.
// Each case: the library's own Tokenizer on the same tokenizer.json gives other ids than Python; ours gives Python's.
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreTrainedTokenizer } from '../../lib/index.js';
import { expected, folder, type Family } from './fixtures.js';

function libraryIds(family: Family, text: string): number[] | string {
  const json = JSON.parse(readFileSync(join(folder(family), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  try {
    return new Tokenizer(json, {}).encode(text).ids;
  } catch (error) {
    return `throws: ${(error as Error).message}`;
  }
}

const GAPS: [string, Family, string][] = [
  ['added token single_word (library ignores it)', 'unigram', 'x<sw>y x <sw> y a_<sw> <sw>'],
  ['Unigram byte_fallback (library emits <unk>)', 'unigram', 'unknown ŋ ☃ 𝔘𝔫𝔦 ǅ'],
  ['Whitespace pre-tokenizer on non-ASCII words (library uses ASCII \\w)', 'wordlevel', 'Café naïve résumé über Ærøskøbing'],
  ['Llama legacy=false: no ▁ after a special token (transformers rebuilds the pipeline)', 'llama2', '<s>Hello</s>'],
];

describe('gaps of @huggingface/tokenizers that node-peft closes', () => {
  it.each(GAPS)('%s', (_, family, text) => {
    const python = expected(family).encode.find((c) => c.text === text)!.ids;
    expect(libraryIds(family, text)).not.toEqual(python);
    expect(PreTrainedTokenizer.fromDirectory(folder(family)).encode(text)).toEqual(python);
  });

  it('decode cleanup: transformers ignores clean_up_tokenization_spaces for BPE; the library applies it', () => {
    const tokenizer = PreTrainedTokenizer.fromDirectory(folder('llama3'));
    const ids = tokenizer.encode('Hello . world', { addSpecialTokens: false });
    expect(tokenizer.decode(ids)).toBe('Hello . world');
    const json = JSON.parse(readFileSync(join(folder('llama3'), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    expect(new Tokenizer(json, {}).decode(ids)).toBe('Hello. world');
  });
});
