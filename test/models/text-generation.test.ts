// Text in, text out: prompts, chat messages and batches through the model's tokenizer give transformers' greedy
// text (base and with an adapter); streaming yields the same text in chunks; stop strings, end tokens from
// generation_config.json, seeds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, models, PeftModel, type PreTrainedTokenizer } from '../../lib/index.js';
import { FIXTURES } from './helpers.js';

interface Run { text: string[]; new_ids: number[][] }
interface Expected {
  prompts: string[];
  prompt_ids: number[][];
  chat: { role: string; content: string }[];
  eos_token_id: number[];
  max_new_tokens: number;
  base: Record<'single' | 'batch' | 'chat', Run>;
  adapter: Record<'single' | 'batch' | 'chat', Run>;
}

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe.each(['llama', 'qwen2', 'gpt2'])('%s text generation', (family) => {
  const dir = join(FIXTURES, 'generation', family);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  let base: models.PreTrainedModel;
  let peft: PeftModel<models.PreTrainedModel>;
  let tokenizer: PreTrainedTokenizer;
  const options = (): models.TextGenerationOptions => ({ tokenizer, maxNewTokens: expected.max_new_tokens });

  beforeAll(async () => {
    base = await models.fromPretrained(dir);
    tokenizer = await AutoTokenizer.fromPretrained(dir);
  });
  afterAll(() => (peft ?? base).dispose());

  it('the tokenizer gives the prompt ids transformers used and both end tokens of generation_config.json', () => {
    expect(expected.prompts.map((p) => tokenizer.encode(p))).toEqual(expected.prompt_ids);
    expect(new Set(tokenizer.eosTokenIds)).toEqual(new Set(expected.eos_token_id));
  });

  it('one prompt, a left-padded batch and chat messages: the text transformers generates', async () => {
    expect(await models.generate(base, expected.prompts[0], options())).toBe(expected.base.single.text[0]);
    expect(await models.generate(base, expected.prompts, options())).toEqual(expected.base.batch.text);
    expect(await models.generate(base, expected.chat, options())).toBe(expected.base.chat.text[0]);
  });

  it('streaming yields the same text, in chunks that are whole characters', async () => {
    for (const prompt of [expected.prompts[1], expected.chat]) {
      const whole = await models.generateText(base, prompt, options());
      const chunks = await collect(models.streamText(base, prompt, options()));
      expect(chunks.join('')).toBe(whole);
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(chunk).not.toBe('');
        expect(/[\uD800-\uDBFF]$/.test(chunk)).toBe(false); // never half a surrogate pair
      }
    }
  });

  it('a stop string ends the text just before it, streamed or not', async () => {
    const text = expected.base.single.text[0];
    const stop = [...text].slice(4, 6).join('');
    const before = text.slice(0, text.indexOf(stop));
    expect(await models.generate(base, expected.prompts[0], { ...options(), stop: [stop, 'never appears'] })).toBe(before);
    expect((await collect(models.streamText(base, expected.prompts[0], { ...options(), stop }))).join('')).toBe(before);
  });

  it('an end token stops a row: its text is what came before it', async () => {
    const ids = expected.base.single.new_ids[0];
    const end = ids[3];
    const text = await models.generate(base, expected.prompts[0], { ...options(), eosTokenId: end });
    expect(text).toBe(tokenizer.decode(ids.slice(0, ids.indexOf(end)), { skipSpecialTokens: true }));
  });

  it('with the PEFT adapter (injected into the base model, so last): the text transformers generates', async () => {
    peft = await PeftModel.fromPretrained(base, join(dir, 'adapter'));
    expect(await models.generateText(peft, expected.prompts, options())).toEqual(expected.adapter.batch.text);
    expect(await models.generateText(peft, expected.chat, options())).toBe(expected.adapter.chat.text[0]);
  });
});

describe('text generation options', () => {
  const dir = join(FIXTURES, 'generation', 'llama');
  let model: models.PreTrainedModel;
  let tokenizer: PreTrainedTokenizer;
  beforeAll(async () => {
    model = await models.fromPretrained(dir);
    tokenizer = await AutoTokenizer.fromPretrained(dir);
  });
  afterAll(() => model.dispose());

  it('a seed makes sampling repeatable; another seed samples differently', async () => {
    const sample = (seed: number): Promise<string[]> =>
      models.generate(model, ['The quick brown', 'Hello'], { tokenizer, maxNewTokens: 16, temperature: 1.5, topK: 0, seed });
    const first = await sample(1);
    expect(await sample(1)).toEqual(first);
    expect(await sample(2)).not.toEqual(first);
  });

  it('loads the defaults of generation_config.json', async () => {
    expect(await models.loadGenerationConfig(dir)).toEqual({ eosTokenId: [2, 0], padTokenId: 0 });
    expect(await models.loadGenerationConfig(join(FIXTURES, 'models/gpt2_padding'))).toEqual({});
  });

  it('rejects what it cannot generate from, naming the problem', async () => {
    await expect(models.generate(model, 'hi', {} as models.TextGenerationOptions)).rejects.toThrow(/text prompts need options.tokenizer/);
    await expect(models.generate(model, [{ role: 'user' }] as never, { tokenizer })).rejects.toThrow(/a prompt must be a string or a non-empty list of \{role, content\} messages/);
    await expect(models.generate(model, 'hi', { tokenizer, stop: [''] })).rejects.toThrow(/stop must be a non-empty string/);
    await expect(models.generate(model, 'hi', { tokenizer, maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens must be a non-negative integer/);
  });

  it('stopping to read a stream early frees what generation holds', async () => {
    const { torch } = await import('../../lib/index.js');
    const before = torch.liveTensors();
    for await (const chunk of models.streamText(model, 'The quick brown', { tokenizer, maxNewTokens: 30 })) {
      expect(chunk).not.toBe('');
      break;
    }
    expect(torch.liveTensors()).toBe(before);
  });
});

describe('position limits', () => {
  it("stops at the model's last position instead of failing there; a prompt that fills it is an error", async () => {
    const dir = join(FIXTURES, 'generation', 'gpt2'); // n_positions 64
    const model = await models.fromPretrained(dir);
    const tokenizer = await AutoTokenizer.fromPretrained(dir);
    const prompt = 'The quick brown fox jumps over the lazy dog.'; // 10+ tokens
    let steps = 0;
    const chunks = models.streamText(model, prompt, { tokenizer, maxNewTokens: 500, eosTokenId: [] });
    for await (const chunk of chunks) steps += chunk ? 1 : 0;
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThanOrEqual(64 - tokenizer.encode(prompt).length);
    await expect(models.generate(model, prompt.repeat(8), { tokenizer })).rejects.toThrow(/leaves no room within the model's 64 positions/);
    model.dispose();
  });
});
