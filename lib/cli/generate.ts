// node-peft generate: text from a prompt or a chat file with a causal LM (+ adapters), printed whole or streamed.
import { readFile } from 'node:fs/promises';
import { resolveModelDir } from '../hub/index.js';
import { fromPretrained as modelFromPretrained, generateText, loadGenerationConfig, streamText, type TextGenerationOptions, type Prompt } from '../models/index.js';
import { AutoTokenizer, type ChatMessage } from '../text/index.js';
import { integerOption, optionalString, parseCommandArgs, stringList, UsageError, type ParsedArgs } from './args.js';
import type { Command } from './command.js';
import { loadWithAdapters, parseAdapterSpecs, requireFile } from './load-model.js';

const USAGE = `usage: node-peft generate --model DIR|REPO [--revision REV] [--adapter [NAME=]DIR ...] (--prompt TEXT | --chat FILE.json)
                         [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
                         [--repetition-penalty R] [--seed N] [--stop TEXT ...] [--stream]
  Continues --prompt (plain text; the tokenizer adds BOS as it does for tokenizer(text)) or the chat in
  FILE.json (a list of {"role", "content"} messages, or {"messages": [...]}, rendered with the model's chat
  template and its generation prompt), and prints the new text. Greedy unless --temperature > 0.
  --adapter             an adapter folder; NAME=DIR names it; repeat for several, the first is active
  --max-new-tokens      tokens to add at most (default: generation_config.json's, else 256)
  --temperature/--top-k/--top-p/--repetition-penalty   as transformers' generate (top-k 50 when sampling)
  --seed                makes sampling repeatable
  --stop                stop before this text (repeat for several); end tokens come from the tokenizer
                        and generation_config.json
  --stream              print the text as it is generated`;

export interface GenerateRequest {
  model: string;
  /** Hub revision when model is a repo id. */
  revision?: string;
  adapters: [string, string][];
  prompt: Prompt;
  options: Omit<TextGenerationOptions, 'tokenizer'>;
  stream: boolean;
}

function numberOption(values: ParsedArgs['values'], name: string, check: (n: number) => boolean, expected: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`generate: --${name}: expected ${expected}, got '${String(value)}'`);
  return n;
}

/** The messages of a chat file: a JSON list of {role, content}, or an object with `messages`. */
export async function readChatFile(path: string): Promise<ChatMessage[]> {
  requireFile('generate', '--chat', path);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`generate: --chat ${path} is not valid JSON (${(error as Error).message})`);
  }
  const messages = Array.isArray(json) ? json : (json as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw new UsageError(`generate: --chat ${path}: expected a non-empty list of {"role", "content"} messages (or {"messages": [...]})`);
  messages.forEach((m: unknown, i) => {
    const message = m as { role?: unknown; content?: unknown } | null;
    if (typeof message?.role !== 'string' || (typeof message.content !== 'string' && !Array.isArray(message.content))) {
      throw new UsageError(`generate: --chat ${path}: message ${i} must be {"role": string, "content": string}, got ${JSON.stringify(m)}`);
    }
  });
  return messages as ChatMessage[];
}

export async function parseGenerateArgs(argv: string[]): Promise<GenerateRequest> {
  const { values } = parseCommandArgs('generate', argv, {
    model: { type: 'string' },
    revision: { type: 'string' },
    adapter: { type: 'string', multiple: true },
    prompt: { type: 'string' },
    chat: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    stream: { type: 'boolean' },
  });
  const model = optionalString(values, 'model');
  if (!model) throw new UsageError('generate: --model is required');
  const text = optionalString(values, 'prompt');
  const chat = optionalString(values, 'chat');
  if ((text === undefined) === (chat === undefined)) throw new UsageError('generate: give exactly one of --prompt TEXT or --chat FILE.json');
  const prompt = chat !== undefined ? await readChatFile(chat) : (text as string);
  if (prompt === '') throw new UsageError('generate: --prompt is empty');
  const stops = stringList(values, 'stop');
  if (stops.includes('')) throw new UsageError('generate: --stop must not be empty');
  const options: GenerateRequest['options'] = {
    temperature: numberOption(values, 'temperature', (n) => n >= 0, 'a number >= 0'),
    topK: numberOption(values, 'top-k', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
    topP: numberOption(values, 'top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    repetitionPenalty: numberOption(values, 'repetition-penalty', (n) => n > 0, 'a number > 0'),
    seed: numberOption(values, 'seed', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
    stop: stops.length > 0 ? stops : undefined,
  };
  if (values['max-new-tokens'] !== undefined) options.maxNewTokens = integerOption('generate', values, 'max-new-tokens', 0, 1);
  for (const key of Object.keys(options) as (keyof typeof options)[]) if (options[key] === undefined) delete options[key];
  return { model, revision: optionalString(values, 'revision'), adapters: parseAdapterSpecs('generate', stringList(values, 'adapter')), prompt, options, stream: values.stream === true };
}

const DEFAULT_MAX_NEW_TOKENS = 256;

/** Loads the model, its tokenizer and adapters, and generates; chunks go to `write` as they come. */
export async function runGenerate(request: GenerateRequest, write: (text: string) => void): Promise<string> {
  const dir = await resolveModelDir(request.model, { revision: request.revision });
  const [base, tokenizer, defaults] = await Promise.all([
    modelFromPretrained(dir),
    AutoTokenizer.fromPretrained(request.model, { revision: request.revision }),
    loadGenerationConfig(dir),
  ]);
  const peft = await loadWithAdapters(base, request.adapters).catch((error: unknown) => {
    base.dispose();
    throw error;
  });
  const model = peft ?? base;
  try {
    // the command line decides greedy vs sampling: generation_config's sampling defaults apply only when sampling
    const sampling = (request.options.temperature ?? 0) > 0;
    const options: TextGenerationOptions = {
      ...(sampling ? defaults : { eosTokenId: defaults.eosTokenId, padTokenId: defaults.padTokenId }),
      maxNewTokens: defaults.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
      ...request.options,
      doSample: sampling,
      tokenizer,
    };
    if (!request.stream) {
      const text = await generateText(model, request.prompt, options);
      write(text);
      return text;
    }
    let text = '';
    for await (const chunk of streamText(model, request.prompt, options)) {
      text += chunk;
      write(chunk);
    }
    return text;
  } finally {
    model.dispose();
  }
}

export const generateCommand: Command = {
  name: 'generate',
  usage: USAGE,
  async run(argv, io) {
    const request = await parseGenerateArgs(argv);
    const write = io.write?.bind(io);
    if (request.stream && write) {
      await runGenerate(request, write);
      write('\n');
    } else {
      io.out(await runGenerate(request, () => {}));
    }
    return 0;
  },
};
