// Greedy generation equals transformers' generate token for token: Llama, Qwen2 and GPT-2 (tiny random models
// with two end tokens), base and with a PEFT-written adapter, one prompt and a left-padded batch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models, PeftModel } from '../../lib/index.js';
import { FIXTURES } from './helpers.js';

interface Run { ids: number[][]; new_ids: number[][]; text: string[] }
interface Expected {
  prompt_ids: number[][];
  chat_ids: number[];
  eos_token_id: number[];
  pad_token_id: number;
  max_new_tokens: number;
  base: Record<'single' | 'batch' | 'chat' | 'repetition_penalty_1.5', Run>;
  adapter: Record<'single' | 'batch' | 'chat', Run>;
}

const families = ['llama', 'qwen2', 'gpt2'] as const;

describe.each(families)('%s greedy generate', (family) => {
  const dir = join(FIXTURES, 'generation', family);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  let base: models.PreTrainedModel;
  let peft: PeftModel;

  beforeAll(async () => {
    base = await models.fromPretrained(dir);
  });
  afterAll(() => (peft ?? base).dispose());

  const prompts = (which: 'single' | 'batch' | 'chat'): number[][] =>
    which === 'single' ? expected.prompt_ids.slice(0, 1) : which === 'batch' ? expected.prompt_ids : [expected.chat_ids];

  const run = (model: models.CausalLM, rows: number[][], options: models.GenerationOptions = {}): number[][] => {
    const batch = models.leftPad(rows, expected.pad_token_id);
    const out = models.generate(model, batch, {
      maxNewTokens: expected.max_new_tokens, eosTokenId: expected.eos_token_id, padTokenId: expected.pad_token_id, ...options,
    });
    const ids = out.toList() as number[][];
    for (const t of [out, batch.input_ids, batch.attention_mask]) t.dispose();
    return ids;
  };

  it.each(['single', 'batch', 'chat'] as const)('base model, %s prompt: the ids transformers generates', (which) => {
    expect(run(base, prompts(which))).toEqual(expected.base[which].ids);
  });

  it('base model with repetition_penalty 1.5: the ids transformers generates', () => {
    expect(run(base, prompts('batch'), { repetitionPenalty: 1.5 })).toEqual(expected.base['repetition_penalty_1.5'].ids);
  });

  it.each(['single', 'batch', 'chat'] as const)('with the PEFT adapter, %s prompt: the ids transformers generates', async (which) => {
    peft ??= await PeftModel.fromPretrained(base, join(dir, 'adapter'));
    expect(run(peft as unknown as models.CausalLM, prompts(which))).toEqual(expected.adapter[which].ids);
  });
});
