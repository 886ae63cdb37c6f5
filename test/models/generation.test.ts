// Generation with the KV cache: the same tokens as transformers' greedy generate, and as recomputing the whole
// sequence each step; sampling options and stop tokens.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models, safetensors, torch } from '../../lib/index.js';
import { FIXTURES } from './helpers.js';

const caseDir = join(FIXTURES, 'models/llama_tied_sharded_generate');
let llama: models.LlamaForCausalLM;
let inputs: { input_ids: torch.Tensor; attention_mask: torch.Tensor };
let expected: Record<string, torch.Tensor>;

beforeAll(async () => {
  llama = await models.fromPretrained(caseDir);
  const loaded = await safetensors.load(join(caseDir, 'inputs.safetensors'));
  inputs = { input_ids: loaded.input_ids, attention_mask: loaded.attention_mask };
  expected = await safetensors.load(join(caseDir, 'expected.safetensors'));
});
afterAll(() => llama.dispose());

const rows = (t: torch.Tensor): number[][] => t.toList() as number[][];

describe('KVCache', () => {
  it('a prefix then the rest through the cache gives the logits of one full forward', () => {
    const full = torch.noGrad(() => llama.forward(inputs).logits);
    const cache = new models.KVCache();
    const split = 4;
    const [first, rest] = torch.noGrad(() => [
      llama.forward({ input_ids: inputs.input_ids.slice(1, 0, split), attention_mask: inputs.attention_mask.slice(1, 0, split), past_key_values: cache }).logits,
      llama.forward({ input_ids: inputs.input_ids.slice(1, split), attention_mask: inputs.attention_mask, past_key_values: cache }).logits,
    ]);
    expect(cache.length).toBe(inputs.input_ids.shape[1]);
    // padding queries attend to nothing real and their (arbitrary) rows differ with the key count: skip them
    const real = inputs.attention_mask.ne(0).unsqueeze(-1);
    expect(torch.scope(() => torch.cat([first, rest], 1).sub(full).abs().mul(real).max().item())).toBeLessThan(1e-5);
    cache.dispose();
    expect(cache.length).toBe(0);
  });
});

describe('generate', () => {
  it('greedy decoding of a left-padded batch equals transformers generate()', () => {
    const out = models.generate(llama, inputs, { maxNewTokens: 8 });
    expect(rows(out)).toEqual(rows(expected.generated));
    out.dispose();
  });

  it.each([
    ['greedy', {}],
    ['temperature', { temperature: 0.8 }],
    ['top-k', { doSample: true, topK: 5 }],
    ['top-p', { doSample: true, topP: 0.7, temperature: 1.3 }],
  ])('%s: the KV cache gives the tokens recomputing the whole sequence gives', (_name, options) => {
    const cached = models.generate(llama, inputs, { maxNewTokens: 10, seed: 7, ...options });
    const recomputed = models.generate(llama, inputs, { maxNewTokens: 10, useCache: false, seed: 7, ...options });
    expect(rows(cached)).toEqual(rows(recomputed));
    expect(cached.shape).toEqual([2, 16]);
    cached.dispose();
    recomputed.dispose();
  });

  it.each([
    ['GPT-2', 'models/gpt2_padding'],
    ['Qwen2', 'models/qwen2_padding'],
  ])('%s: cached and recomputed greedy decoding agree', async (_name, dir) => {
    const model = await models.fromPretrained(join(FIXTURES, dir));
    const { input_ids, attention_mask } = await safetensors.load(join(FIXTURES, dir, 'inputs.safetensors'));
    const prompt = { input_ids, attention_mask };
    const cached = models.generate(model as models.CausalLM, prompt, { maxNewTokens: 6 });
    const recomputed = models.generate(model as models.CausalLM, prompt, { maxNewTokens: 6, useCache: false });
    expect(rows(cached)).toEqual(rows(recomputed));
    model.dispose();
  });

  it('topK = 1 sampling is greedy decoding', () => {
    const greedy = models.generate(llama, inputs, { maxNewTokens: 5 });
    const topOne = models.generate(llama, inputs, { maxNewTokens: 5, doSample: true, topK: 1, temperature: 2 });
    expect(rows(topOne)).toEqual(rows(greedy));
  });

  it('a row stops at an end token and is padded after it; all rows stopped ends generation', () => {
    const greedy = rows(models.generate(llama, inputs, { maxNewTokens: 8 }));
    const promptLength = inputs.input_ids.shape[1];
    const eos = greedy[0][promptLength + 1]; // row 0's second new token
    const out = rows(models.generate(llama, inputs, { maxNewTokens: 8, eosTokenId: eos, padTokenId: 99 }));
    const stop = greedy[0].indexOf(eos, promptLength);
    expect(out[0].slice(0, stop + 1)).toEqual(greedy[0].slice(0, stop + 1));
    expect(out[0].slice(stop + 1).every((t) => t === 99)).toBe(true);
    const both = rows(models.generate(llama, inputs, { maxNewTokens: 8, eosTokenId: [greedy[0][promptLength], greedy[1][promptLength]] }));
    expect(both[0].length).toBe(promptLength + 1);
  });

  it('frees every tensor it makes but the result', () => {
    const before = torch.liveTensors();
    const out = models.generate(llama, inputs, { maxNewTokens: 4, doSample: true, topP: 0.9 });
    expect(torch.liveTensors()).toBe(before + 1);
    out.dispose();
  });

  it('checks its options', () => {
    expect(() => models.generate(llama, inputs, { maxNewTokens: -1 })).toThrow(/maxNewTokens must be a non-negative integer, got -1/);
    expect(() => models.generate(llama, inputs, { topP: 0 })).toThrow(/topP must be in \(0, 1\], got 0/);
    expect(() => models.generate(llama, inputs, { topK: 1.5 })).toThrow(/topK must be a non-negative integer, got 1.5/);
    const flat = torch.tensor([1, 2, 3]);
    expect(() => models.generate(llama, { input_ids: flat })).toThrow(/input_ids must be an int64 tensor \[batch, sequence\], got shape \[3\]/);
  });
});
