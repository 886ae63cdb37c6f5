// The decoder plumbing GPT-2 and Llama share: input checks, logits_to_keep, the loss, and the cache passed through.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models, torch } from '../../lib/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

const CASES = { gpt2: 'peft-golden/05_gpt2_conv1d_fan_in_fan_out/base', llama: 'peft-golden/03_llama_all_linear_rslora/base' };
const loaded: Partial<Record<keyof typeof CASES, models.PreTrainedModel>> = {};

beforeAll(async () => {
  for (const [name, dir] of Object.entries(CASES)) loaded[name as keyof typeof CASES] = await models.fromPretrained(join(FIXTURES, dir));
});
afterAll(() => {
  for (const model of Object.values(loaded)) model?.dispose();
});

describe.each(Object.keys(CASES) as (keyof typeof CASES)[])('%s', (name) => {
  it('logits_to_keep keeps the last positions of the full logits; labels add a loss', () => {
    torch.scope(() => {
      const model = loaded[name] as models.PreTrainedModel;
      const input_ids = torch.tensor([[1, 5, 7, 2]], { dtype: 'int64' });
      const full = torch.noGrad(() => model.forward({ input_ids }));
      const last = torch.noGrad(() => model.forward({ input_ids, logits_to_keep: 1 } as models.CausalLMInputs));
      expect(last.logits.shape).toEqual([1, 1, full.logits.shape[2]]);
      expect(maxAbsDiff(last.logits, full.logits.slice(1, 3))).toBeLessThan(1e-6);
      expect(full.loss).toBeUndefined();
      const withLoss = torch.noGrad(() => model.forward({ input_ids, labels: input_ids }));
      expect(withLoss.loss?.shape).toEqual([]);
      expect(withLoss.loss?.item()).toBeGreaterThan(0);
    });
  });

  it('refuses input_ids that are not [batch, sequence] and a mask of the wrong length, naming the model', () => {
    torch.scope(() => {
      const model = loaded[name] as models.PreTrainedModel;
      expect(() => model.forward({ input_ids: torch.tensor([1, 2], { dtype: 'int64' }) })).toThrow(/input_ids must be an int64 tensor \[batch, sequence\], got shape \[2\]/);
      expect(() => model.forward({})).toThrow(new RegExp(`${model.architecture}: input_ids must be .* got nothing`));
      const input_ids = torch.tensor([[1, 2, 3]], { dtype: 'int64' });
      expect(() => model.forward({ input_ids, attention_mask: torch.ones([1, 2], { dtype: 'int64' }) })).toThrow(/attention_mask/);
    });
  });
});

it('GPT-2 refuses more positions than n_positions', () => {
  torch.scope(() => {
    const model = loaded.gpt2 as models.GPT2LMHeadModel;
    const n = model.config.n_positions;
    const input_ids = torch.zeros([1, n + 1], { dtype: 'int64' });
    expect(() => model.forward({ input_ids })).toThrow(new RegExp(`GPT2LMHeadModel: ${n + 1} positions exceed n_positions \\(${n}\\)`));
  });
});
