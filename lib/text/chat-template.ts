// Chat templates rendered with @huggingface/jinja, with transformers 5's variables and selection rules.
import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from '../errors.js';
import { SPECIAL_TOKEN_KEYS, type SpecialTokenKey } from './config.js';
import { applyJinjaFixes } from './jinja-fixes.js';

applyJinjaFixes();

export interface ChatContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ChatMessage {
  role: string;
  content: string | ChatContentPart[];
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** false: return the rendered text; true (default): its ids, encoded without adding special tokens. */
  tokenize?: boolean;
  /** Tool JSON schemas, passed to the template as `tools`. */
  tools?: readonly Record<string, unknown>[];
  documents?: readonly Record<string, unknown>[];
  /** A template name from the tokenizer (e.g. 'tool_use') or a template's source. */
  chatTemplate?: string;
  /** Leave the final message open for the model to continue (true: its `content`; a string: that field). */
  continueFinalMessage?: boolean | string;
  /** More template variables (they override the defaults, as kwargs do in transformers). */
  templateKwargs?: Record<string, unknown>;
}

/** What rendering needs from a tokenizer. */
export interface TemplateSource {
  readonly chatTemplates: Readonly<Record<string, string>>;
  readonly settings: { dir: string; specialTokens: Partial<Record<SpecialTokenKey, string>>; chatTemplateFiles: Record<string, string> };
}

const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';
const compiled = new Map<string, Template>();

function compile(source: string, origin: string): Template {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new ChatTemplateError(`the chat template does not parse (${(error as Error).message})`, origin);
    }
    compiled.set(source, template);
  }
  return template;
}

export function selectChatTemplate(tokenizer: TemplateSource, options: ChatTemplateOptions): { source: string; origin: string } {
  const templates = tokenizer.chatTemplates;
  const originOf = (name: string): string => `${tokenizer.settings.chatTemplateFiles[name] ?? tokenizer.settings.dir} (chat template "${name}")`;
  if (options.chatTemplate !== undefined) {
    const named = templates[options.chatTemplate];
    return named === undefined ? { source: options.chatTemplate, origin: 'the chatTemplate option' } : { source: named, origin: originOf(options.chatTemplate) };
  }
  const name = options.tools && templates.tool_use !== undefined ? 'tool_use' : 'default';
  const origin = originOf(name);
  const source = templates[name];
  if (source === undefined) {
    const names = Object.keys(templates);
    throw new ChatTemplateError(names.length === 0
      ? 'this tokenizer has no chat template (no chat_template in tokenizer_config.json and no chat_template.jinja); pass options.chatTemplate'
      : `no default chat template; choose one of ${names.join(', ')} with options.chatTemplate`, tokenizer.settings.dir);
  }
  return { source, origin };
}

function withContinueTag(messages: readonly ChatMessage[], field: string, source: string): ChatMessage[] {
  const copy = structuredClone(messages) as ChatMessage[];
  const last = copy.at(-1) as Record<string, unknown> | undefined;
  const value = last?.[field];
  if (value === undefined || value === null) throw new ChatTemplateError(`continueFinalMessage is set but the final message has no "${field}" to continue`);
  if (!source.includes(field)) throw new ChatTemplateError(`continueFinalMessage is set to "${field}" but the chat template never uses it`);
  if (Array.isArray(value)) {
    const part = [...value].reverse().find((p) => typeof (p as ChatContentPart).text === 'string') as ChatContentPart | undefined;
    if (!part) throw new ChatTemplateError('continueFinalMessage is set but the final message has no text part to continue');
    part.text += CONTINUE_TAG;
  } else {
    last![field] = `${String(value)}${CONTINUE_TAG}`;
  }
  return copy;
}

function cutAtContinueTag(rendered: string): string {
  const at = rendered.lastIndexOf(CONTINUE_TAG.trim());
  if (at < 0) throw new ChatTemplateError('continueFinalMessage is set but the chat template dropped the final message');
  return rendered.startsWith(CONTINUE_TAG, at) ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
}

/** The rendered chat as text, exactly as transformers' apply_chat_template(tokenize=False) gives it. */
export function renderChatTemplate(tokenizer: TemplateSource, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  if (!Array.isArray(messages)) throw new ChatTemplateError('messages must be a list of {role, content} objects');
  messages.forEach((message, i) => {
    if (typeof message !== 'object' || message === null || typeof message.role !== 'string') {
      throw new ChatTemplateError(`messages[${i}] must be an object with a string "role"`);
    }
  });
  const continueField = options.continueFinalMessage === true ? 'content' : options.continueFinalMessage || undefined;
  if (continueField !== undefined && options.addGenerationPrompt) {
    throw new ChatTemplateError('continueFinalMessage and addGenerationPrompt cannot both be set');
  }
  const { source, origin } = selectChatTemplate(tokenizer, options);
  const template = compile(source, origin);
  const variables: Record<string, unknown> = {
    messages: continueField === undefined ? messages : withContinueTag(messages, continueField, source),
    tools: options.tools ?? null,
    documents: options.documents ?? null,
    add_generation_prompt: options.addGenerationPrompt ?? false,
  };
  for (const key of SPECIAL_TOKEN_KEYS) {
    const token = tokenizer.settings.specialTokens[key];
    if (token !== undefined) variables[key] = token;
  }
  Object.assign(variables, options.templateKwargs);
  let rendered: string;
  try {
    rendered = template.render(variables);
  } catch (error) {
    throw new ChatTemplateError(`the chat template failed: ${(error as Error).message}`, origin);
  }
  return continueField === undefined ? rendered : cutAtContinueTag(rendered);
}
