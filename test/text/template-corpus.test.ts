// Real chat templates (TRL's bundled copies of Llama 3.x, Qwen 2.5/3, Gemma, Phi-3, DeepSeek, Cohere, GLM, GPT-OSS,
// LFM2, Nemotron) render to the same text as transformers, and training variants give the same assistant masks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, PreTrainedTokenizer, type ChatMessage } from '../../lib/index.js';
import { folder, TEXT_FIXTURES } from './fixtures.js';

interface Corpus {
  chats: ChatMessage[][];
  kwargs: Record<string, unknown>;
  sources: Record<string, string>;
  cases: { template: string; chat: number; add_generation_prompt: boolean; text?: string; error?: string; ids?: number[]; assistant_masks?: number[] }[];
}

const corpus = JSON.parse(readFileSync(join(TEXT_FIXTURES, 'templates.json'), 'utf8')) as Corpus;
const tokenizer = PreTrainedTokenizer.fromDirectory(folder('qwen2'));

describe('real chat templates render as transformers renders them', () => {
  const cases = corpus.cases.map((c) => [`${c.template} chat ${c.chat}${c.add_generation_prompt ? ' + generation prompt' : ''}`, c] as const);
  it.each(cases)('%s', (_, c) => {
    const options = {
      chatTemplate: corpus.sources[c.template]!, addGenerationPrompt: c.add_generation_prompt, templateKwargs: corpus.kwargs,
    };
    const messages = corpus.chats[c.chat]!;
    if (c.error !== undefined) {
      expect(() => tokenizer.applyChatTemplate(messages, { ...options, tokenize: false })).toThrow(ChatTemplateError);
      return;
    }
    expect(tokenizer.applyChatTemplate(messages, { ...options, tokenize: false })).toBe(c.text);
    if (c.assistant_masks) {
      const got = tokenizer.applyChatTemplateWithAssistantMask(messages, options);
      expect(got).toEqual({ input_ids: c.ids, assistant_masks: c.assistant_masks });
    }
  });
});
