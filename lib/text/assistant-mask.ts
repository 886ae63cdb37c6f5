// Assistant-token masks, as transformers' apply_chat_template(return_assistant_tokens_mask=True) makes them:
// the template's {% generation %}...{% endgeneration %} output spans, mapped to tokens with char_to_token.
// @huggingface/jinja drops generation blocks, so they are rewritten to print private-use markers first.
import { ChatTemplateError } from '../errors.js';
import { renderChatTemplate, selectChatTemplate, type ChatMessage, type ChatTemplateOptions, type TemplateSource } from './chat-template.js';

const OPEN = '\uE000';
const CLOSE = '\uE001';
const GENERATION_TAG = /\{%-?\s*(end)?generation\s*-?%\}/;

export function hasGenerationMarkers(template: string): boolean {
  return GENERATION_TAG.test(template);
}

function markGenerationBlocks(source: string): string {
  return source.replace(/\{%(-?)\s*(end)?generation\s*(-?)%\}/g, (_, left: string, end: string | undefined, right: string) =>
    `{%${left} if true %}{{ '${end ? CLOSE : OPEN}' }}{% endif ${right}%}`);
}

/** The rendered chat and the [start, end) character spans of its generation blocks. */
export function renderWithGenerationSpans(
  tokenizer: TemplateSource, messages: readonly ChatMessage[], options: ChatTemplateOptions,
): { text: string; spans: [number, number][] } {
  const { source } = selectChatTemplate(tokenizer, options);
  const marked = renderChatTemplate(tokenizer, messages, { ...options, chatTemplate: markGenerationBlocks(source) });
  if (JSON.stringify(messages).includes(OPEN) || JSON.stringify(messages).includes(CLOSE)) {
    throw new ChatTemplateError('messages contain the private-use characters U+E000/U+E001, which assistant masks reserve');
  }
  let text = '';
  const spans: [number, number][] = [];
  let open: number | undefined;
  for (const ch of marked) {
    if (ch === OPEN) open = text.length;
    else if (ch === CLOSE) {
      if (open !== undefined) spans.push([open, text.length]);
      open = undefined;
    } else text += ch;
  }
  return { text, spans };
}

/**
 * Spans of assistant turns for templates without generation markers: each assistant message's span runs from
 * the end of the conversation before it (rendered with the generation prompt) to the end of the conversation
 * through it. (TRL would substitute a training template with markers here; this is node-peft's fallback.)
 */
export function assistantSpansByPrefix(
  tokenizer: TemplateSource, messages: readonly ChatMessage[], options: ChatTemplateOptions,
): { text: string; spans: [number, number][] } {
  const render = (upTo: number, addGenerationPrompt: boolean): string =>
    renderChatTemplate(tokenizer, messages.slice(0, upTo), { ...options, addGenerationPrompt, tokenize: false });
  const text = render(messages.length, options.addGenerationPrompt ?? false);
  const spans: [number, number][] = [];
  messages.forEach((message, i) => {
    if (message.role !== 'assistant') return;
    const before = i === 0 ? '' : render(i, true);
    const through = render(i + 1, false);
    if (text.startsWith(through) && through.startsWith(before) && through.length > before.length) spans.push([before.length, through.length]);
  });
  return { text, spans };
}

/** Token mask (1 = inside a span) from token character offsets, as transformers' char_to_token loop does. */
export function spansToTokenMask(offsets: readonly [number, number][], spans: readonly [number, number][]): number[] {
  const mask = new Array<number>(offsets.length).fill(0);
  const charToToken = (c: number): number | undefined => {
    const i = offsets.findIndex(([start, end]) => start <= c && c < end);
    return i < 0 ? undefined : i;
  };
  for (const [start, end] of spans) {
    const startToken = charToToken(start);
    const endToken = charToToken(end - 1);
    if (startToken === undefined) break;
    const stop = endToken ? endToken + 1 : offsets.length;
    for (let t = startToken; t < stop; t++) mask[t] = 1;
  }
  return mask;
}
