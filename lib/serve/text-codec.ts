// Text for the OpenAI routes: the base model folder's tokenizer (tokenizer.json + tokenizer_config.json) and
// chat template (tokenizer_config.json's chat_template or chat_template.jinja), through @huggingface/tokenizers
// and @huggingface/jinja. A thin adapter in one file, to give way to lib/text's AutoTokenizer.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ChatMessage } from './openai-request.js';
import type { Detokenizer } from './text-stream.js';

export interface TextCodec extends Detokenizer {
  /** Prompt text → ids, with the tokenizer's special tokens (BOS) as a completion prompt gets them. */
  encode(text: string): number[];
  /** Messages through the chat template, with the generation prompt, → ids. */
  chat(messages: ChatMessage[]): number[];
  /** Ids of the tokens that end a turn (eos). */
  eosTokenIds: number[];
}

type Json = Record<string, unknown>;

function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  const content = (value as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : null;
}

/** The folder's tokenizer, or null when it has none (then only token-id prompts are served). */
export async function loadTextCodec(dir: string): Promise<TextCodec | null> {
  if (!existsSync(join(dir, 'tokenizer.json'))) return null;
  const tokenizerJson = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as Json;
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? (JSON.parse(await readFile(configPath, 'utf8')) as Json) : {};
  const tokenizer = new Tokenizer(tokenizerJson, config);
  const templatePath = join(dir, 'chat_template.jinja');
  const source = existsSync(templatePath) ? await readFile(templatePath, 'utf8') : typeof config.chat_template === 'string' ? config.chat_template : null;
  const template = source === null ? null : new Template(source);
  const bos = tokenText(config.bos_token);
  const eos = tokenText(config.eos_token);
  const idOf = (token: string | null): number[] => {
    if (token === null) return [];
    const ids = tokenizer.encode(token, { add_special_tokens: false }).ids;
    return ids.length === 1 ? ids : [];
  };
  return {
    encode: (text) => tokenizer.encode(text).ids,
    decode: (ids) => tokenizer.decode(ids, { skip_special_tokens: true }),
    chat(messages) {
      if (!template) throw new Error('this model has no chat template; use /v1/completions');
      const text = template.render({ messages, add_generation_prompt: true, bos_token: bos ?? '', eos_token: eos ?? '' });
      return tokenizer.encode(text, { add_special_tokens: false }).ids;
    },
    eosTokenIds: idOf(eos),
  };
}
