// Text rows -> {input_ids, labels} exactly as TRL 1.13's SFTTrainer._prepare_dataset builds them:
// {"text"} (loss on every token), {"prompt","completion"} (loss on the completion), {"messages"} (chat template;
// loss on assistant turns). EOS is appended as text to non-chat rows; -100 marks tokens without loss.
import { DatasetError } from '../errors.js';
import type { ChatMessage } from './chat-template.js';
import type { JsonlRow } from './jsonl.js';
import type { PreTrainedTokenizer } from './tokenizer.js';

export type SftRowKind = 'text' | 'prompt_completion' | 'messages' | 'chat_prompt_completion';

export interface SftOptions {
  /** Tokens kept per example (TRL default 1024; null: no limit). Ignored when packing (bins are this long). */
  maxLength?: number | null;
  /** Loss only on the completion of prompt/completion rows (default true, as TRL). */
  completionOnlyLoss?: boolean;
  /** Loss only on assistant turns of chat rows (default true here; TRL's default is false). */
  assistantOnlyLoss?: boolean;
  /** Chat template name or source to use instead of the tokenizer's. */
  chatTemplate?: string;
  /** Pack examples into rows of maxLength tokens (best-fit decreasing, as TRL's 'bfd'). */
  packing?: boolean;
}

export interface SftExample {
  input_ids: number[];
  labels: number[];
  /** Lengths of the documents packed into this row (packing only). */
  seq_lengths?: number[];
  /** Line of the source row (unpacked examples). */
  line?: number;
}

const isMessageList = (value: unknown): value is ChatMessage[] =>
  Array.isArray(value) && value.every((m) => typeof m === 'object' && m !== null && typeof (m as ChatMessage).role === 'string');

export function rowKind(row: Record<string, unknown>, file: string, line: number): SftRowKind {
  if ('messages' in row) {
    if (!isMessageList(row.messages) || row.messages.length === 0) {
      throw new DatasetError('"messages" must be a non-empty list of {"role", "content"} objects', file, line);
    }
    return 'messages';
  }
  if ('prompt' in row || 'completion' in row) {
    const { prompt, completion } = row;
    if (typeof prompt === 'string' && typeof completion === 'string') return 'prompt_completion';
    if (isMessageList(prompt) && isMessageList(completion)) return 'chat_prompt_completion';
    throw new DatasetError('"prompt" and "completion" must both be strings or both be lists of messages', file, line);
  }
  if ('text' in row) {
    if (typeof row.text !== 'string') throw new DatasetError('"text" must be a string', file, line);
    return 'text';
  }
  throw new DatasetError(`expected a "text", "prompt"/"completion" or "messages" field, got keys ${JSON.stringify(Object.keys(row))}`, file, line);
}

function withEos(text: string, eos: string | null, file: string, line: number): string {
  if (eos === null) throw new DatasetError('the tokenizer has no eos_token to end examples with', file, line);
  return text.endsWith(eos) ? text : text + eos;
}

/** A row's tools: a list of JSON schemas, or that list as a JSON string (as TRL accepts). */
function rowTools(value: unknown, file: string, line: number): Record<string, unknown>[] | undefined {
  if (value === undefined || value === null) return undefined;
  let tools = value;
  if (typeof value === 'string') {
    try {
      tools = JSON.parse(value);
    } catch {
      throw new DatasetError('"tools" is a string but not JSON', file, line);
    }
  }
  if (!Array.isArray(tools)) throw new DatasetError('"tools" must be a list of JSON schemas', file, line);
  return tools as Record<string, unknown>[];
}

/** Tokens and per-token loss flags (1 = trained) of one row. */
function tokenizeRow(tokenizer: PreTrainedTokenizer, kind: SftRowKind, row: Record<string, unknown>, options: SftOptions, file: string, line: number): { ids: number[]; mask: number[] } {
  const templateOptions = {
    chatTemplate: options.chatTemplate,
    tools: rowTools(row.tools, file, line),
    templateKwargs: typeof row.chat_template_kwargs === 'object' && row.chat_template_kwargs !== null
      ? row.chat_template_kwargs as Record<string, unknown> : undefined,
  };
  switch (kind) {
    case 'text': {
      const ids = tokenizer.encode(withEos(row.text as string, tokenizer.eosToken, file, line));
      return { ids, mask: ids.map(() => 1) };
    }
    case 'prompt_completion': {
      const prompt = tokenizer.encode(row.prompt as string);
      const ids = tokenizer.encode((row.prompt as string) + withEos(row.completion as string, tokenizer.eosToken, file, line));
      const onlyCompletion = options.completionOnlyLoss ?? true;
      return { ids, mask: ids.map((_, i) => (onlyCompletion && i < prompt.length ? 0 : 1)) };
    }
    case 'chat_prompt_completion': {
      const prompt = row.prompt as ChatMessage[];
      const all = [...prompt, ...(row.completion as ChatMessage[])];
      const promptIds = tokenizer.applyChatTemplate(prompt, { ...templateOptions, addGenerationPrompt: true, tokenize: true });
      const ids = tokenizer.applyChatTemplate(all, { ...templateOptions, tokenize: true });
      const onlyCompletion = options.completionOnlyLoss ?? true;
      return { ids, mask: ids.map((_, i) => (onlyCompletion && i < promptIds.length ? 0 : 1)) };
    }
    case 'messages': {
      const messages = row.messages as ChatMessage[];
      if (!(options.assistantOnlyLoss ?? true)) {
        const ids = tokenizer.applyChatTemplate(messages, { ...templateOptions, tokenize: true });
        return { ids, mask: ids.map(() => 1) };
      }
      const { input_ids: ids, assistant_masks: mask } = tokenizer.applyChatTemplateWithAssistantMask(messages, templateOptions);
      if (!mask.includes(1)) throw new DatasetError('assistant-only loss, but the row has no assistant tokens', file, line);
      return { ids, mask };
    }
  }
}

/** Examples from parsed rows: labels, truncation to maxLength (keep start) and dropping fully masked rows, as TRL. */
export function prepareSftExamples(rows: readonly JsonlRow[], tokenizer: PreTrainedTokenizer, options: SftOptions, file: string): SftExample[] {
  const first = rows[0];
  if (!first) throw new DatasetError('no rows', file);
  const kind = rowKind(first.value, file, first.line);
  const maxLength = options.maxLength === undefined ? 1024 : options.maxLength;
  const examples: SftExample[] = [];
  for (const { line, value } of rows) {
    const rowType = rowKind(value, file, line);
    if (rowType !== kind) throw new DatasetError(`a "${rowType}" row in a file of "${kind}" rows (line ${first.line})`, file, line);
    let ids: number[];
    let mask: number[];
    try {
      ({ ids, mask } = tokenizeRow(tokenizer, kind, value, options, file, line));
    } catch (error) {
      if (error instanceof DatasetError) throw error;
      throw new DatasetError((error as Error).message, file, line);
    }
    let labels = ids.map((id, i) => (mask[i] === 1 ? id : -100));
    if (maxLength !== null && !options.packing) {
      ids = ids.slice(0, maxLength);
      labels = labels.slice(0, maxLength);
      if (labels.every((l) => l === -100)) continue; // nothing left to learn from (e.g. the prompt fills maxLength)
    }
    examples.push({ input_ids: ids, labels, line });
  }
  return examples;
}
