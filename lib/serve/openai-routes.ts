// The OpenAI-compatible routes: /v1/completions, /v1/chat/completions (JSON or server-sent events),
// /v1/models, and vLLM's /v1/load_lora_adapter and /v1/unload_lora_adapter. `model` is the base model's
// name or an adapter's. Shapes follow openai-node and vLLM (see docs/serving.md).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeJson, readJsonBody, requireObject } from './body.js';
import type { ChoiceResult, ChoiceSpec } from './generation-service.js';
import { badRequest, HttpError } from './http-error.js';
import { parseOpenAIRequest, type OpenAIRequest } from './openai-request.js';
import { ADAPTER_NAME } from './registry.js';
import type { Reply, ServeContext } from './routes.js';
import { SseWriter } from './sse.js';

interface AdapterListing {
  name: string;
  path: string;
  loaded: boolean;
}

const seconds = (): number => Math.floor(Date.now() / 1000);

/** null for the base model, else the adapter name (404 with param "model" unless it could exist). */
function adapterFor(context: ServeContext, model: string): string | null {
  if (model === context.modelName) return null;
  if (!ADAPTER_NAME.test(model)) throw new HttpError(404, `The model '${model}' does not exist.`, 'model', 'model_not_found');
  return model;
}

function promptIds(context: ServeContext, request: OpenAIRequest): number[][] {
  const codec = context.codec;
  if (request.kind === 'chat') {
    if (!codec) throw badRequest('this model folder has no tokenizer, so chat is not available; send token ids to /v1/completions', 'messages');
    try {
      return [codec.chat(request.messages ?? [])];
    } catch (error) {
      throw badRequest(`messages: the chat template failed: ${(error as Error).message.split('\n')[0]}`, 'messages');
    }
  }
  return request.prompts.map((prompt, i) => {
    if (Array.isArray(prompt)) {
      const bad = prompt.find((id) => id >= context.info.vocabSize);
      if (bad !== undefined) throw badRequest(`prompt[${i}]: token id ${bad} is outside the vocabulary (${context.info.vocabSize})`, 'prompt');
      return prompt;
    }
    if (!codec) throw badRequest('this model folder has no tokenizer; send the prompt as token ids', 'prompt');
    const ids = codec.encode(prompt);
    if (ids.length === 0) throw badRequest(`prompt[${i}] is empty`, 'prompt');
    return ids;
  });
}

/** One spec per choice (prompt × n), with max_tokens checked against the context. */
function choiceSpecs(context: ServeContext, request: OpenAIRequest, prompts: number[][]): ChoiceSpec[] {
  const limit = context.info.maxPositions;
  return prompts.flatMap((ids) => {
    const maxTokens = request.maxTokens ?? limit - ids.length;
    if (ids.length + maxTokens > limit || maxTokens < 1) {
      const field = request.kind === 'chat' ? 'max_completion_tokens' : 'max_tokens';
      throw badRequest(`This model's maximum context length is ${limit} tokens. However, you requested ${ids.length + maxTokens} tokens (${ids.length} in the prompt, ${maxTokens} for the completion).`, request.maxTokens === null ? 'messages' : field);
    }
    return Array.from({ length: request.n }, () => ({ promptIds: ids, maxTokens, temperature: request.temperature, topP: request.topP, seed: request.seed }));
  });
}

function usageOf(results: ChoiceResult[], n: number): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  // each prompt is counted once, however many choices it has
  const prompt = results.filter((_, i) => i % n === 0).reduce((s, r) => s + r.promptTokens, 0);
  const completion = results.reduce((s, r) => s + r.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

async function completionRoute(kind: 'chat' | 'completion', context: ServeContext, request: IncomingMessage, response: ServerResponse): Promise<Reply | null> {
  const body = parseOpenAIRequest(kind, await readJsonBody(request, context.maxBodyBytes));
  if (!context.info.causal) throw badRequest(`this server runs ${context.info.architecture}, which does not generate text; use /v1/predict`, 'model');
  const adapter = adapterFor(context, body.model);
  const prompts = promptIds(context, body);
  const choices = choiceSpecs(context, body, prompts);
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  const created = seconds();
  const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
  const aborted = new AbortController();
  response.on('close', () => {
    if (!response.writableFinished) aborted.abort();
  });
  const job = { adapter, choices, stop: body.stop, stopTokenIds: context.stopTokenIds, signal: aborted.signal };
  if (!body.stream) {
    const results = await context.service.run(job);
    return {
      status: 200,
      body: {
        id, object, created, model: body.model,
        choices: results.map((r, index) => kind === 'chat'
          ? { index, message: { role: 'assistant', content: r.text }, logprobs: null, finish_reason: r.finishReason }
          : { index, text: r.text, logprobs: null, finish_reason: r.finishReason }),
        usage: usageOf(results, body.n),
      },
    };
  }
  const sse = new SseWriter(response, { 'x-request-id': id });
  const chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choicesPart: unknown[], extra: Record<string, unknown> = {}): void =>
    sse.send({ id, object: chunkObject, created, model: body.model, choices: choicesPart, ...(body.includeUsage ? { usage: null } : {}), ...extra });
  const started = new Set<number>();
  const open = (index: number): void => {
    if (started.has(index)) return;
    started.add(index);
    if (kind === 'chat') chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  };
  const delta = (index: number, text: string): void => {
    open(index);
    chunk([kind === 'chat' ? { index, delta: { content: text }, logprobs: null, finish_reason: null } : { index, text, logprobs: null, finish_reason: null }]);
  };
  try {
    const results = await context.service.run({ ...job, onDelta: delta });
    results.forEach((r, index) => {
      open(index);
      chunk([kind === 'chat' ? { index, delta: {}, logprobs: null, finish_reason: r.finishReason } : { index, text: '', logprobs: null, finish_reason: r.finishReason }]);
    });
    if (body.includeUsage) sse.send({ id, object: chunkObject, created, model: body.model, choices: [], usage: usageOf(results, body.n) });
  } catch (error) {
    if (!sse.started) throw error; // nothing sent yet: an ordinary error reply
    if (!aborted.signal.aborted) sse.send({ error: openAIError(error instanceof HttpError ? error : new HttpError(500, String(error))).error });
  }
  sse.done();
  return null;
}

/** OpenAI's error body for an HttpError. */
export function openAIError(error: HttpError): { error: { message: string; type: string; param: string | null; code: string | number | null } } {
  const type = error.status === 401 ? 'authentication_error' : error.status === 429 ? 'rate_limit_error' : error.status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: error.message, type, param: error.param, code: error.code ?? (error.status === 404 ? 'model_not_found' : null) } };
}

async function modelCards(context: ServeContext): Promise<Record<string, unknown>[]> {
  const adapters = await context.worker.call<AdapterListing[]>('adapters');
  const base = {
    id: context.modelName, object: 'model', created: context.created, owned_by: 'node-peft', root: context.info.path,
    parent: null, max_model_len: context.info.maxPositions || null, permission: [],
  };
  return [base, ...adapters.map((a) => ({
    id: a.name, object: 'model', created: context.created, owned_by: 'node-peft', root: a.path, parent: context.modelName,
    max_model_len: context.info.maxPositions || null, permission: [], loaded: a.loaded,
  }))];
}

function loraName(body: Record<string, unknown>): string {
  if (typeof body.lora_name !== 'string' || body.lora_name === '') throw badRequest(`lora_name: expected an adapter name, got ${describeJson(body.lora_name)}`, 'lora_name');
  if (!ADAPTER_NAME.test(body.lora_name) || body.lora_name === undefined) throw badRequest(`lora_name: expected 1-64 letters, digits, '_' or '-', got ${JSON.stringify(body.lora_name)}`, 'lora_name');
  return body.lora_name;
}

export const OPENAI_ROUTES = {
  completions: (context: ServeContext, request: IncomingMessage, response: ServerResponse) => completionRoute('completion', context, request, response),
  chat: (context: ServeContext, request: IncomingMessage, response: ServerResponse) => completionRoute('chat', context, request, response),
  async models(context: ServeContext): Promise<Reply> {
    return { status: 200, body: { object: 'list', data: await modelCards(context) } };
  },
  async model(context: ServeContext, id: string): Promise<Reply> {
    const card = (await modelCards(context)).find((m) => m.id === id);
    if (!card) throw new HttpError(404, `The model '${id}' does not exist.`, 'model', 'model_not_found');
    return { status: 200, body: card };
  },
  async load(context: ServeContext, request: IncomingMessage): Promise<Reply> {
    const body = requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body');
    const name = loraName(body);
    if (typeof body.lora_path !== 'string' || body.lora_path === '') throw badRequest(`lora_path: expected an adapter folder, got ${describeJson(body.lora_path)}`, 'lora_path');
    if (name === context.modelName) throw badRequest(`lora_name: ${name} is the base model's name`, 'lora_name');
    await context.worker.call('register', name, body.lora_path, body.load_inplace === true);
    context.log(`loaded adapter ${name}`);
    return { status: 200, body: `Success: LoRA adapter '${name}' added successfully.` };
  },
  async unload(context: ServeContext, request: IncomingMessage): Promise<Reply> {
    const name = loraName(requireObject(await readJsonBody(request, context.maxBodyBytes), 'request body'));
    await context.worker.call('unregister', name);
    context.log(`unloaded adapter ${name}`);
    return { status: 200, body: `Success: LoRA adapter '${name}' removed successfully.` };
  },
};
