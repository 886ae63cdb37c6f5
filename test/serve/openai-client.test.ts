// The official openai client against node-peft serve on loopback: models, completions and chat completions
// with streaming on and off, adapters named as `model` (preloaded, or loaded on demand from --adapter-root),
// stop strings, usage, errors in OpenAI's shape, API keys, and vLLM's adapter endpoints.
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serve, type RunningServer } from '../../lib/serve/index.js';

const FIXTURE = join(__dirname, '..', 'fixtures', 'serve');
const KEY = 'sk-test-key';
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await serve({
    model: join(FIXTURE, 'base'), adapters: [['ad0', join(FIXTURE, 'adapters', 'ad0')], ['ad1', join(FIXTURE, 'adapters', 'ad1')]],
    adapterRoot: join(FIXTURE, 'adapters'), apiKeys: [KEY], threads: 1,
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => server.close());

const messages = [{ role: 'user' as const, content: 'Hello world' }];

describe('openai client: models', () => {
  test('models.list() has the base model and every adapter (with parent); retrieve works, unknown is NotFound', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['base', 'ad0', 'ad1', 'ad2', 'ad3', 'ad4', 'ad5', 'ad6', 'ad7']); // ad2-ad7: in the adapter root, loaded on first use
    const ad1 = (await client.models.retrieve('ad1')) as unknown as { parent: string; root: string };
    expect(ad1.parent).toBe('base');
    expect(ad1.root).toBe(join(FIXTURE, 'adapters', 'ad1'));
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('openai client: chat completions', () => {
  test('non-streaming with an adapter: echoes the model, usage adds up, greedy is deterministic', async () => {
    const reply = await client.chat.completions.create({ model: 'ad1', messages, max_completion_tokens: 12, temperature: 0 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.model).toBe('ad1');
    expect(reply.choices[0].message.role).toBe('assistant');
    expect(reply.choices[0].message.content?.length).toBeGreaterThan(0);
    const usage = reply.usage!;
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(usage.prompt_tokens).toBeGreaterThan(3);
    const again = await client.chat.completions.create({ model: 'ad1', messages, max_completion_tokens: 12, temperature: 0 });
    expect(again.choices[0].message.content).toBe(reply.choices[0].message.content);
    const base = await client.chat.completions.create({ model: 'base', messages, max_completion_tokens: 12, temperature: 0 });
    expect(base.choices[0].message.content).not.toBe(reply.choices[0].message.content);
  });

  test('max_completion_tokens 1 ends with length after one token', async () => {
    const reply = await client.chat.completions.create({ model: 'ad0', messages, max_completion_tokens: 1, temperature: 0 });
    expect(reply.choices[0].finish_reason).toBe('length');
    expect(reply.usage?.completion_tokens).toBe(1);
  });

  test('streaming: role first, joined deltas equal the non-streamed text, one usage chunk, then the loop ends', async () => {
    const full = await client.chat.completions.create({ model: 'ad0', messages, max_completion_tokens: 16, temperature: 0 });
    const stream = await client.chat.completions.create({ model: 'ad0', messages, max_completion_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const text = chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? '')).join('');
    expect(text).toBe(full.choices[0].message.content);
    const usageChunks = chunks.filter((c) => c.usage);
    expect(usageChunks).toHaveLength(1);
    expect(usageChunks[0].choices).toEqual([]);
    expect(usageChunks[0].usage).toEqual(full.usage);
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe(full.choices[0].finish_reason);
  });

  test('chat.completions.stream().finalChatCompletion() resolves', async () => {
    const runner = client.chat.completions.stream({ model: 'ad1', messages, max_completion_tokens: 8, temperature: 0 });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].finish_reason).toMatch(/stop|length/);
  });

  test('an adapter not loaded yet is loaded from --adapter-root on first use, once for concurrent requests', async () => {
    const replies = await Promise.all([0, 1, 2].map(() => client.chat.completions.create({ model: 'ad5', messages, max_completion_tokens: 6, temperature: 0 })));
    expect(new Set(replies.map((r) => r.choices[0].message.content)).size).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/nodepeft_adapter_loads_total\{result="ok"\} 3\n/); // ad0, ad1 at start, ad5 once
  });
});

describe('openai client: completions', () => {
  test('stop strings end the text before them (streamed too); n and prompt arrays give one choice each', async () => {
    const plain = await client.completions.create({ model: 'ad1', prompt: 'Hello', max_tokens: 16, temperature: 0 });
    const text = plain.choices[0].text;
    expect(plain.object).toBe('text_completion');
    const stop = text.slice(4, 6);
    const cut = text.slice(0, text.indexOf(stop));
    const stopped = await client.completions.create({ model: 'ad1', prompt: 'Hello', max_tokens: 16, temperature: 0, stop: [stop] });
    expect(stopped.choices[0]).toMatchObject({ text: cut, finish_reason: 'stop' });
    const stream = await client.completions.create({ model: 'ad1', prompt: 'Hello', max_tokens: 16, temperature: 0, stop: stop, stream: true });
    let streamed = '';
    let finish = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(cut);
    expect(finish).toBe('stop');
    const multi = await client.completions.create({ model: 'ad1', prompt: ['Hello', 'The quick'], max_tokens: 4, temperature: 0, n: 2 });
    expect(multi.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(multi.choices[0].text).toBe(multi.choices[1].text);
    expect(multi.choices[0].text).toBe(text.slice(0, multi.choices[0].text.length));
  });

  test('seeded sampling repeats; a client that breaks off frees its sequence', async () => {
    const sample = () => client.completions.create({ model: 'ad0', prompt: 'The quick', max_tokens: 10, temperature: 1, seed: 42 });
    expect((await sample()).choices[0].text).toBe((await sample()).choices[0].text);
    const stream = await client.completions.create({ model: 'ad0', prompt: 'The quick', max_tokens: 200, temperature: 0.5, stream: true });
    let seen = 0;
    for await (const _chunk of stream) if (++seen === 3) break;
    for (let i = 0; i < 200 && server.worker.activeGenerations > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.worker.activeGenerations).toBe(0);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/nodepeft_request_success_total\{finished_reason="abort"\} 1\n/);
  });
});

describe('errors in OpenAI shape', () => {
  test('unknown model 404 (param model); temperature 3, tools, stream_options without stream: 400 naming the field', async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    const unknown = await failure(client.chat.completions.create({ model: 'missing', messages }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown?.param).toBe('model');
    const hot = await failure(client.chat.completions.create({ model: 'ad0', messages, temperature: 3 }));
    expect(hot).toBeInstanceOf(OpenAI.BadRequestError);
    expect(hot?.param).toBe('temperature');
    const tools = await failure(client.chat.completions.create({ model: 'ad0', messages, tools: [{ type: 'function', function: { name: 'f' } }] }));
    expect(tools?.param).toBe('tools');
    const options = await failure(client.chat.completions.create({ model: 'ad0', messages, stream_options: { include_usage: true } }));
    expect(options?.param).toBe('stream_options');
    const long = await failure(client.completions.create({ model: 'ad0', prompt: 'Hello', max_tokens: 1000 }));
    expect(long?.message).toMatch(/maximum context length is 256 tokens/);
  });

  test('a wrong key is AuthenticationError; /health needs none', async () => {
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/v1/adapters`)).status).toBe(401);
  });
});

describe("vLLM's adapter endpoints", () => {
  const call = (path: string, body: unknown) =>
    fetch(`${server.url}/v1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('load, use, unload; a taken name is 400, a missing folder 404, outside the root 403', async () => {
    const loaded = await call('load_lora_adapter', { lora_name: 'extra', lora_path: join(FIXTURE, 'adapters', 'ad7') });
    expect([loaded.status, await loaded.text()]).toEqual([200, "Success: LoRA adapter 'extra' added successfully."]);
    expect((await call('load_lora_adapter', { lora_name: 'extra', lora_path: join(FIXTURE, 'adapters', 'ad6') })).status).toBe(400);
    expect((await call('load_lora_adapter', { lora_name: 'x2', lora_path: join(FIXTURE, 'adapters', 'none') })).status).toBe(404);
    expect((await call('load_lora_adapter', { lora_name: 'x3', lora_path: join(FIXTURE, 'base') })).status).toBe(404);
    expect((await call('load_lora_adapter', { lora_name: 'x4', lora_path: join(__dirname, '..', 'fixtures', 'peft-golden', '10_llama_mixed_batch_base_row', 'adapter', 'first') })).status).toBe(403);
    const reply = await client.completions.create({ model: 'extra', prompt: 'Hello', max_tokens: 3, temperature: 0 });
    expect(reply.choices[0].text.length).toBeGreaterThan(0);
    const unloaded = await call('unload_lora_adapter', { lora_name: 'extra' });
    expect([unloaded.status, await unloaded.text()]).toEqual([200, "Success: LoRA adapter 'extra' removed successfully."]);
    expect((await call('unload_lora_adapter', { lora_name: 'extra' })).status).toBe(404);
    await expect(client.completions.create({ model: 'extra', prompt: 'Hello', max_tokens: 3 })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
