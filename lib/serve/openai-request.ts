// Checking the bodies of POST /v1/completions and /v1/chat/completions (OpenAI's field names and ranges);
// every mistake is a 400 naming its field in `param`. Fields we cannot honour are refused, not ignored.
import { describeJson, requireObject } from './body.js';
import { badRequest } from './http-error.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface OpenAIRequest {
  kind: 'chat' | 'completion';
  model: string;
  /** Completions: each prompt (text or token ids); chat: the messages. */
  prompts: (string | number[])[];
  messages: ChatMessage[] | null;
  /** null = as many as the context allows. */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | null;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

/** Choices per request at most (n), as the spec advises on CPU. */
export const MAX_N = 8;

/** Fields we refuse rather than silently ignore (a 400 naming them), unless they hold their neutral value. */
const REFUSED: Record<string, (value: unknown) => boolean> = {
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === 'none',
  functions: () => false,
  function_call: () => false,
  response_format: (v) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'text',
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  best_of: (v) => v === 1,
  suffix: (v) => v === '',
  echo: (v) => v === false,
  logprobs: (v) => v === false || v === 0,
  top_logprobs: (v) => v === 0,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
};

function number(body: Record<string, unknown>, field: string, min: number, max: number, fallback: number): number {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badRequest(`${field}: expected a number in [${min}, ${max}], got ${describeJson(value)}`, field);
  }
  return value;
}

function integer(body: Record<string, unknown>, field: string, min: number, max: number): number | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${field}: expected an integer in [${min}, ${max}], got ${describeJson(value)}`, field);
  }
  return value;
}

function stopStrings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw badRequest(`stop: expected a non-empty string or up to 4 of them, got ${describeJson(value)}`, 'stop');
  }
  return list as string[];
}

function isTokenIds(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0);
}

function prompts(value: unknown): (string | number[])[] {
  if (typeof value === 'string') return [value];
  if (isTokenIds(value)) return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((p) => typeof p === 'string' || isTokenIds(p))) return value as (string | number[])[];
  throw badRequest(`prompt: expected a string, an array of strings, token ids or arrays of token ids, got ${describeJson(value)}`, 'prompt');
}

/** Text of a message's content: a string, or OpenAI's array of {type: "text", text} parts. */
function contentText(value: unknown, index: number): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    return value.map((part, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== 'text' || typeof p.text !== 'string') {
        throw badRequest(`messages[${index}].content[${j}]: only {"type": "text", "text": ...} parts are supported, got ${describeJson(part)}`, 'messages');
      }
      return p.text;
    }).join('');
  }
  throw badRequest(`messages[${index}].content: expected a string or text parts, got ${describeJson(value)}`, 'messages');
}

function messages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest(`messages: expected a non-empty array, got ${describeJson(value)}`, 'messages');
  return value.map((m, i) => {
    const message = requireObject(m, `messages[${i}]`);
    if (typeof message.role !== 'string' || !['system', 'developer', 'user', 'assistant', 'tool'].includes(message.role)) {
      throw badRequest(`messages[${i}].role: expected system, developer, user, assistant or tool, got ${describeJson(message.role)}`, 'messages');
    }
    return { role: message.role === 'developer' ? 'system' : message.role, content: contentText(message.content, i) };
  });
}

export function parseOpenAIRequest(kind: 'chat' | 'completion', json: unknown): OpenAIRequest {
  const body = requireObject(json, 'request body');
  for (const [field, neutral] of Object.entries(REFUSED)) {
    if (body[field] !== undefined && body[field] !== null && !neutral(body[field])) {
      throw badRequest(`${field} is not supported by this server`, field);
    }
  }
  if (typeof body.model !== 'string' || body.model === '') throw badRequest(`model: expected a model or adapter name, got ${describeJson(body.model)}`, 'model');
  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') throw badRequest(`stream: expected true or false, got ${describeJson(stream)}`, 'stream');
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!stream) throw badRequest('stream_options: only allowed when stream is true', 'stream_options');
    const options = requireObject(body.stream_options, 'stream_options');
    if (options.include_usage !== undefined && typeof options.include_usage !== 'boolean') {
      throw badRequest(`stream_options.include_usage: expected true or false, got ${describeJson(options.include_usage)}`, 'stream_options');
    }
    includeUsage = options.include_usage === true;
  }
  const maxTokens = kind === 'chat'
    ? (integer(body, 'max_completion_tokens', 1, 2 ** 31) ?? integer(body, 'max_tokens', 1, 2 ** 31))
    : (integer(body, 'max_tokens', 1, 2 ** 31) ?? 16);
  return {
    kind,
    model: body.model,
    prompts: kind === 'completion' ? prompts(body.prompt) : [],
    messages: kind === 'chat' ? messages(body.messages) : null,
    maxTokens,
    temperature: number(body, 'temperature', 0, 2, 1),
    topP: number(body, 'top_p', 0, 1, 1),
    stop: stopStrings(body.stop),
    seed: integer(body, 'seed', -(2 ** 53) + 1, 2 ** 53 - 1),
    n: integer(body, 'n', 1, MAX_N) ?? 1,
    stream,
    includeUsage,
  };
}
