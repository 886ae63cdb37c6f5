// Text for the OpenAI routes: the base model folder's tokenizer and chat template through lib/text's
// AutoTokenizer (tokenizer.json, tokenizer_config.json, chat_template.jinja).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AutoTokenizer } from '../text/index.js';
import type { ChatMessage } from './openai-request.js';

export interface TextCodec {
  /** Prompt text → ids, with the tokenizer's special tokens (BOS) as a completion prompt gets them. */
  encode(text: string): number[];
  /** Ids → text without special tokens. */
  decode(ids: readonly number[]): string;
  /** Messages through the chat template, with the generation prompt, → ids. */
  chat(messages: ChatMessage[]): number[];
  /** Ids of the tokens that end a turn (eos). */
  eosTokenIds: number[];
}

/** The folder's tokenizer, or null when it has none (then only token-id prompts are served). */
export async function loadTextCodec(dir: string): Promise<TextCodec | null> {
  if (!existsSync(join(dir, 'tokenizer.json'))) return null;
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  return {
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: true }),
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode(ids, { skipSpecialTokens: true })),
    chat: (messages) => tokenizer.applyChatTemplate(messages.map((m) => ({ role: m.role, content: m.content })), { addGenerationPrompt: true, tokenize: true }),
    eosTokenIds: tokenizer.eosTokenIds,
  };
}
