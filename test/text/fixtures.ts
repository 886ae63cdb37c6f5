// The Python-made expectations in test/fixtures/text/expected/ (scripts/fixtures/text/make_tokenizers.py).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChatMessage } from '../../lib/index.js';

export const TEXT_FIXTURES = resolve(__dirname, '..', 'fixtures', 'text');
export const FAMILIES = [
  'gpt2', 'llama3', 'qwen2', 'llama2', 'mistral', 'gemma', 'bert', 'unigram', 'wordlevel', 'gpt2_prefix', 'bert_cased',
] as const;
export type Family = (typeof FAMILIES)[number];

export interface EncodeCase {
  text: string; ids: number[]; ids_no_special: number[]; tokens: string[]; decoded: string; decoded_skip: string;
}
export interface BatchCase {
  options: { padding: boolean | 'longest' | 'max_length'; max_length?: number; truncation?: boolean; add_special_tokens?: boolean };
  input_ids: number[][];
  attention_mask: number[][];
  pairs?: string[];
  token_type_ids?: number[][];
}
export interface ChatCase {
  messages: ChatMessage[]; tools: Record<string, unknown>[] | null; add_generation_prompt: boolean;
  text?: string; ids?: number[]; error?: string;
}
export interface Expected {
  class: string;
  special: Record<string, string | number | null>;
  eos_token_ids: number | number[] | null;
  padding_side: 'left' | 'right';
  model_max_length: number;
  vocab_size: number;
  encode: EncodeCase[];
  batch: BatchCase[];
  chat: ChatCase[];
}

export function expected(family: Family): Expected {
  return JSON.parse(readFileSync(join(TEXT_FIXTURES, 'expected', `${family}.json`), 'utf8')) as Expected;
}

export const folder = (family: Family): string => join(TEXT_FIXTURES, family);
